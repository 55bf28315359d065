"""Fixed word lists the demo shop is built from: names, places, devices, products, reviews.

Only data lives here, so the generators read as logic. Everything is a tuple, so nothing can
be changed by accident between two runs that must produce the same shop.
"""

from __future__ import annotations

__all__ = [
    "ANDROID_PHONES",
    "ANDROID_TABLETS",
    "BOOK_ADJECTIVES",
    "BRANDS",
    "CITIES",
    "COLOURS",
    "DESKTOP_AGENTS",
    "FEATURES_EN",
    "FEATURES_ZH",
    "IOS_PHONES",
    "IOS_TABLETS",
    "MOBILE_AGENTS",
    "NAMES",
    "PRODUCT_ADJECTIVES",
    "PUBLISHERS",
    "REVIEWS_EN",
    "REVIEWS_ZH",
    "SUBCATEGORIES",
    "TVS",
]

# Given names (female, male) and family names per language of the customer.
NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "de": (
        ("Anna", "Lena", "Sophie", "Marie", "Laura", "Julia", "Hannah", "Lea", "Katharina"),
        ("Lukas", "Jonas", "Leon", "Felix", "Paul", "Maximilian", "Tobias", "Jan", "Florian"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
         "Hoffmann", "Schulz", "Koch", "Richter"),
    ),
    "fr": (
        ("Camille", "Léa", "Chloé", "Manon", "Inès", "Emma", "Louise", "Juliette"),
        ("Hugo", "Louis", "Lucas", "Théo", "Nathan", "Jules", "Arthur", "Gabriel"),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
         "Leroy", "Moreau"),
    ),
    "nl": (
        ("Emma", "Sanne", "Lotte", "Fleur", "Noor", "Julia"),
        ("Daan", "Sem", "Lucas", "Bram", "Thijs", "Ruben"),
        ("de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit"),
    ),
    "es": (
        ("Lucía", "Sofía", "María", "Paula", "Carmen", "Elena"),
        ("Hugo", "Pablo", "Alejandro", "Javier", "Diego", "Sergio"),
        ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez"),
    ),
    "it": (
        ("Giulia", "Francesca", "Chiara", "Sara", "Martina", "Alessia"),
        ("Marco", "Luca", "Andrea", "Matteo", "Alessandro", "Davide"),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo"),
    ),
    "en": (
        ("Aoife", "Ciara", "Emma", "Sarah", "Niamh", "Grace"),
        ("Conor", "Seán", "Jack", "Cian", "Liam", "Darragh"),
        ("Murphy", "Kelly", "O'Sullivan", "Walsh", "Byrne", "Ryan", "O'Brien"),
    ),
    "zh": (
        ("Wei", "Fang", "Min", "Jing", "Xin", "Yan"),
        ("Hao", "Jun", "Lei", "Qiang", "Yang", "Tao"),
        ("Zhang", "Wang", "Li", "Liu", "Chen", "Huang", "Zhao"),
    ),
}

# city, region, country, IANA time zone, locale, language, UTC offset in winter, weight
CITIES: tuple[tuple[str, str, str, str, str, str, int, float], ...] = (
    ("Berlin", "Berlin", "DE", "Europe/Berlin", "de-DE", "de", 1, 8),
    ("Munich", "Bavaria", "DE", "Europe/Berlin", "de-DE", "de", 1, 6),
    ("Hamburg", "Hamburg", "DE", "Europe/Berlin", "de-DE", "de", 1, 5),
    ("Cologne", "North Rhine-Westphalia", "DE", "Europe/Berlin", "de-DE", "de", 1, 4),
    ("Vienna", "Vienna", "AT", "Europe/Vienna", "de-AT", "de", 1, 4),
    ("Paris", "Île-de-France", "FR", "Europe/Paris", "fr-FR", "fr", 1, 7),
    ("Lyon", "Auvergne-Rhône-Alpes", "FR", "Europe/Paris", "fr-FR", "fr", 1, 3),
    ("Amsterdam", "North Holland", "NL", "Europe/Amsterdam", "nl-NL", "nl", 1, 4),
    ("Rotterdam", "South Holland", "NL", "Europe/Amsterdam", "nl-NL", "nl", 1, 2),
    ("Madrid", "Community of Madrid", "ES", "Europe/Madrid", "es-ES", "es", 1, 5),
    ("Barcelona", "Catalonia", "ES", "Europe/Madrid", "es-ES", "es", 1, 4),
    ("Milan", "Lombardy", "IT", "Europe/Rome", "it-IT", "it", 1, 4),
    ("Rome", "Lazio", "IT", "Europe/Rome", "it-IT", "it", 1, 3),
    ("Dublin", "Leinster", "IE", "Europe/Dublin", "en-IE", "en", 0, 4),
)

# (manufacturer, model, OS versions) — models as the SDKs report them.
IOS_PHONES = (
    ("Apple", "iPhone14,5", ("17.4.1", "17.5.1", "17.6.1")),
    ("Apple", "iPhone15,2", ("17.5.1", "17.6.1", "18.0")),
    ("Apple", "iPhone15,4", ("17.5.1", "17.6.1", "18.0")),
    ("Apple", "iPhone16,1", ("17.6.1", "18.0")),
)
ANDROID_PHONES = (
    ("samsung", "SM-S918B", ("13", "14")),
    ("samsung", "SM-A546B", ("13", "14")),
    ("Google", "Pixel 8", ("14",)),
    ("Google", "Pixel 7a", ("14",)),
    ("Xiaomi", "23049PCD8G", ("13", "14")),
    ("OnePlus", "CPH2449", ("14",)),
)
IOS_TABLETS = (("Apple", "iPad13,18", ("17.5.1", "17.6.1")), ("Apple", "iPad14,1", ("17.6.1",)))
ANDROID_TABLETS = (("samsung", "SM-X710", ("13", "14")),)
# (manufacturer, model, os name, os version, SDK library)
TVS = (
    ("Apple", "AppleTV11,1", "tvOS", "17.5", "analytics-ios"),
    ("Sony", "BRAVIA 4K VH2", "Android TV", "12", "analytics-android"),
    ("Samsung", "QE55Q80C", "Tizen", "7.0", "analytics-android"),
)

DESKTOP_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.{m} Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.0.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.0.0 Safari/537.36",
)
MOBILE_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{m} like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.{m} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.0.0 Mobile Safari/537.36",
)

# path, median price (EUR), English nouns, Chinese noun, materials, search words
SUBCATEGORIES: tuple[tuple[tuple[str, ...], float, tuple[str, ...], str, tuple[str, ...],
                           tuple[str, ...]], ...] = (
    (("Electronics", "Audio", "Headphones"), 120,
     ("Wireless Headphones", "Noise-Cancelling Headphones", "In-Ear Earbuds"), "无线耳机",
     ("plastic", "aluminium", "leather"), ("headphones", "earbuds", "noise cancelling")),
    (("Electronics", "Audio", "Speakers"), 80, ("Bluetooth Speaker", "Smart Speaker",
     "Soundbar"), "蓝牙音箱", ("plastic", "fabric", "aluminium"), ("speaker", "soundbar")),
    (("Electronics", "Computers", "Laptops"), 950, ("Ultrabook", "Gaming Laptop",
     "2-in-1 Laptop"), "笔记本电脑", ("aluminium", "magnesium"), ("laptop", "ultrabook")),
    (("Electronics", "Computers", "Accessories"), 45, ("Mechanical Keyboard", "Wireless Mouse",
     "USB-C Hub", "Webcam"), "电脑配件", ("plastic", "aluminium"),
     ("keyboard", "mouse", "usb-c hub", "webcam")),
    (("Electronics", "Phones", "Smartphones"), 650, ("Smartphone", "5G Smartphone"),
     "智能手机", ("glass", "aluminium"), ("smartphone", "phone", "5g phone")),
    (("Electronics", "Phones", "Cases & Chargers"), 22, ("Phone Case", "Fast Charger",
     "Power Bank"), "手机配件", ("silicone", "plastic", "leather"),
     ("phone case", "charger", "power bank")),
    (("Electronics", "Wearables", "Smartwatches"), 260, ("Smartwatch", "Fitness Tracker"),
     "智能手表", ("aluminium", "silicone", "steel"), ("smartwatch", "fitness tracker")),
    (("Home & Kitchen", "Kitchen", "Cookware"), 65, ("Cast Iron Skillet", "Non-Stick Frying Pan",
     "Dutch Oven", "Saucepan Set"), "厨具", ("cast iron", "stainless steel", "ceramic"),
     ("frying pan", "skillet", "dutch oven", "cookware")),
    (("Home & Kitchen", "Kitchen", "Knives"), 70, ("Chef's Knife", "Santoku Knife", "Knife Block"),
     "厨师刀", ("stainless steel", "damascus steel"), ("chef knife", "knife", "santoku")),
    (("Home & Kitchen", "Kitchen", "Appliances"), 180, ("Stand Mixer", "Espresso Machine",
     "Blender", "Air Fryer"), "厨房电器", ("stainless steel", "plastic"),
     ("espresso machine", "air fryer", "blender", "stand mixer")),
    (("Home & Kitchen", "Tableware", "Mugs"), 16, ("Ceramic Mug", "Travel Mug", "Tea Cup Set"),
     "马克杯", ("ceramic", "porcelain", "stainless steel"), ("mug", "tea cup", "travel mug")),
    (("Home & Kitchen", "Pantry", "Spices & Oils"), 11, ("Spice Set", "Olive Oil",
     "Smoked Paprika"), "香料", ("glass",), ("spices", "olive oil", "paprika")),
    (("Sports & Outdoors", "Camping", "Tents"), 190, ("Dome Tent", "Backpacking Tent",
     "Family Tent"), "帐篷", ("nylon", "polyester"), ("tent", "camping tent")),
    (("Sports & Outdoors", "Camping", "Sleeping Bags"), 95, ("Down Sleeping Bag",
     "Synthetic Sleeping Bag"), "睡袋", ("down", "polyester"), ("sleeping bag",)),
    (("Sports & Outdoors", "Hiking", "Backpacks"), 110, ("Hiking Backpack", "Daypack",
     "Trekking Pack"), "登山背包", ("nylon", "cordura"), ("backpack", "daypack", "hiking bag")),
    (("Sports & Outdoors", "Hiking", "Boots"), 145, ("Hiking Boots", "Trail Runners"), "登山靴",
     ("leather", "gore-tex", "mesh"), ("hiking boots", "trail shoes")),
    (("Sports & Outdoors", "Cycling", "Accessories"), 38, ("Bike Light", "Cycling Helmet",
     "Bike Lock"), "骑行配件", ("aluminium", "polycarbonate"), ("bike light", "helmet", "lock")),
    (("Fashion", "Women", "Dresses"), 75, ("Summer Dress", "Wrap Dress", "Maxi Dress"),
     "连衣裙", ("cotton", "linen", "viscose", "silk"), ("dress", "summer dress", "maxi dress")),
    (("Fashion", "Men", "Shirts"), 48, ("Oxford Shirt", "Linen Shirt", "Polo Shirt"), "衬衫",
     ("cotton", "linen"), ("shirt", "linen shirt", "polo")),
    (("Fashion", "Shoes", "Sneakers"), 95, ("Leather Sneakers", "Running Sneakers",
     "Canvas Sneakers"), "运动鞋", ("leather", "canvas", "mesh"), ("sneakers", "trainers")),
    (("Fashion", "Accessories", "Bags"), 85, ("Tote Bag", "Crossbody Bag", "Leather Backpack"),
     "手提包", ("leather", "canvas", "vegan leather"), ("bag", "tote", "crossbody")),
    (("Fashion", "Accessories", "Scarves"), 32, ("Silk Scarf", "Wool Scarf"), "围巾",
     ("silk", "wool", "cashmere"), ("scarf",)),
    (("Books", "Fiction", "Novels"), 16, ("River", "Garden", "Orchard", "Lighthouse", "Summer"),
     "小说", (), ("novel", "fiction", "bestseller")),
    (("Books", "Fiction", "Science Fiction"), 15, ("Starship", "Nebula", "Colony", "Signal"),
     "科幻小说", (), ("science fiction", "sci-fi")),
    (("Books", "Non-Fiction", "Cookbooks"), 26, ("Kitchen", "Table", "Pantry", "Bakery"),
     "食谱", (), ("cookbook", "recipes", "baking book")),
    (("Books", "Non-Fiction", "Travel Guides"), 21, ("Alps", "Coastline", "Trail", "Islands"),
     "旅行指南", (), ("travel guide", "hiking guide")),
    (("Books", "Non-Fiction", "Technology"), 38, ("Algorithm", "Network", "Machine", "Cloud"),
     "科技图书", (), ("programming book", "technology book", "python")),
    (("Books", "Children", "Picture Books"), 12, ("Bear", "Moon", "Dragon", "Fox"), "绘本", (),
     ("picture book", "children's book")),
)

BRANDS: dict[str, tuple[str, ...]] = {
    "Electronics": ("Sonora", "Voltix", "Nexon", "Aurion", "Pixelon", "Kestrel"),
    "Home & Kitchen": ("Casa Cucina", "Ferro & Fuoco", "Nordkök", "Ember", "Maison Blanc"),
    "Sports & Outdoors": ("Alpenway", "TrailForge", "Fjellstar", "Northridge", "Kite & Pine"),
    "Fashion": ("Maison Lune", "Verde", "Atelier Nove", "Bluefield", "Sora"),
}
PUBLISHERS = ("Harbor Press", "Northwind Books", "Lantern House", "Paper Crane")
PRODUCT_ADJECTIVES: dict[str, tuple[str, ...]] = {
    "Electronics": ("Pro", "Lite", "Max", "Air", "Studio", "Compact", "Ultra"),
    "Home & Kitchen": ("Classic", "Professional", "Everyday", "Artisan", "Nordic"),
    "Sports & Outdoors": ("Trail", "Summit", "Alpine", "Explorer", "Ridge"),
    "Fashion": ("Classic", "Relaxed", "Slim", "Vintage", "Essential"),
}
BOOK_ADJECTIVES = ("Silent", "Hidden", "Last", "Northern", "Forgotten", "Golden", "Endless",
                   "Quiet", "Little", "Secret")
COLOURS = ("black", "white", "navy", "olive", "red", "grey", "beige", "forest green", "sky blue")

FEATURES_EN: dict[str, tuple[str, ...]] = {
    "Electronics": ("Long battery life and fast USB-C charging.",
                    "Bluetooth 5.3 with a low-latency mode for gaming.",
                    "Crisp sound, deep bass and a two-year warranty.",
                    "Sleek aluminium design with a bright, sharp display."),
    "Home & Kitchen": ("Dishwasher safe and easy to clean.",
                       "Perfect for everyday cooking, roasting and baking.",
                       "Sturdy, well made and built to last.",
                       "A favourite of home chefs who love fresh, seasonal recipes."),
    "Sports & Outdoors": ("Waterproof and lightweight for long hikes.",
                          "Built for camping in wind, rain and snow.",
                          "Breathable fabric with reinforced seams for the trail.",
                          "Packs small for trekking, cycling and travel."),
    "Fashion": ("Tailored fit in soft, breathable fabric.",
                "A timeless style for every season.",
                "Pairs perfectly with jeans or a summer outfit.",
                "Ethically made from sustainable materials."),
    "Books": ("A gripping story you will not put down.",
              "Praised by critics and readers alike.",
              "Includes maps, illustrations and a detailed index.",
              "Perfect for a long weekend of reading."),
}
FEATURES_ZH: dict[str, str] = {
    "Electronics": "性能出色，续航持久，做工精致。",
    "Home & Kitchen": "易于清洁，受热均匀，适合日常烹饪。",
    "Sports & Outdoors": "防水轻便，适合露营和户外徒步。",
    "Fashion": "面料舒适透气，百搭时尚。",
    "Books": "情节引人入胜，值得一读。",
}

# Review texts by star rating (index 0 is one star); "{noun}" is the product's kind.
REVIEWS_EN: tuple[tuple[str, ...], ...] = (
    ("Broke after two days. Very disappointed.", "Terrible quality, would not buy again.",
     "Not as described, I sent the {noun} back."),
    ("Below expectations, feels cheap.", "The {noun} works, but only just. Not worth the price."),
    ("It's okay for the price.", "Decent {noun}, nothing special.", "Average. Delivery was slow."),
    ("Good {noun}, does the job well.", "Very happy with it, fast delivery.",
     "Nice quality for the money."),
    ("Excellent! The best {noun} I have owned.", "Love it, highly recommend.",
     "Perfect, exactly what I wanted. Five stars."),
)
REVIEWS_ZH: tuple[tuple[str, ...], ...] = (
    ("质量太差，用了两天就坏了。", "非常失望，不会再买。"),
    ("一般般，感觉有点廉价。", "不值这个价格。"),
    ("还可以，性价比一般。", "中规中矩，没有惊喜。"),
    ("不错，很实用，物流也快。", "质量挺好，满意。"),
    ("非常好！强烈推荐。", "超级喜欢，质量很好，五星好评。"),
)
