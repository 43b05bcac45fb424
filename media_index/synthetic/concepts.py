"""The everyday concepts the demo model learns, with their pictures and names.

Each concept lists the emoji that depict it (rendered from Noto Color Emoji), optionally a
shape that ``render`` can draw instead, and its names in English and Chinese. The first
name in each language is the primary one, used by evaluation queries ("a cute puppy",
"可爱的小狗"); the others are synonyms the captions mix in so the model learns that
"dog" and "puppy", or "狗" and "小狗", mean the same picture.
"""

from dataclasses import dataclass
from typing import Literal

# "thing": a corpus concept with no hand-written category (generic notes only).
Category = Literal["animal", "food", "vehicle", "object", "nature", "person", "symbol", "thing"]


@dataclass(frozen=True)
class Concept:
    key: str
    emoji: tuple[str, ...]
    en: tuple[str, ...]
    zh: tuple[str, ...]
    # Chinese measure word, so captions read "一只小狗", "一辆汽车" rather than "一个" for all.
    zh_measure: str
    category: Category
    # A shape render.py can draw instead of an emoji, so e.g. "heart" also matches drawn hearts.
    drawn: str | None = None
    # The dominant colour of each emoji (aligned with ``emoji``), where it has one that a
    # person would name ("a red car" is the 🚗, not the 🚙); None where it has none.
    colours: tuple[str | None, ...] = ()

    def colour_of(self, variant: int) -> str | None:
        return self.colours[variant] if variant < len(self.colours) else None


def _c(
    key: str,
    emoji: str,
    en: str,
    zh: str,
    zh_measure: str,
    category: Category,
    drawn: str | None = None,
) -> Concept:
    # Space-separated emoji, each optionally ":colour", "|"-separated names: keeps the
    # table below one line per concept.
    glyphs = [token.partition(":") for token in emoji.split()]
    return Concept(
        key=key,
        emoji=tuple(glyph for glyph, _, _ in glyphs),
        colours=tuple(colour or None for _, _, colour in glyphs),
        en=tuple(en.split("|")),
        zh=tuple(zh.split("|")),
        zh_measure=zh_measure,
        category=category,
        drawn=drawn,
    )


CONCEPTS: tuple[Concept, ...] = (
    _c("dog", "🐶 🐕 🐩", "puppy|dog|doggy|pup", "小狗|狗|狗狗|幼犬", "只", "animal"),
    _c("cat", "🐱 🐈", "kitten|cat|kitty", "小猫|猫|猫咪", "只", "animal"),
    _c("rabbit", "🐰 🐇", "bunny|rabbit", "兔子|小兔子|小白兔", "只", "animal"),
    _c("panda", "🐼", "panda|panda bear", "熊猫|大熊猫", "只", "animal"),
    _c("fish", "🐟 🐠", "fish|goldfish", "鱼|小鱼|金鱼", "条", "animal"),
    _c("bird", "🐦 🐤", "bird|little bird|chick", "小鸟|鸟", "只", "animal"),
    _c("horse", "🐴 🐎", "horse|pony", "马|小马", "匹", "animal"),
    _c("elephant", "🐘", "elephant", "大象|象", "头", "animal"),
    _c("cow", "🐮 🐄", "cow|calf", "奶牛|牛", "头", "animal"),
    _c("penguin", "🐧", "penguin", "企鹅", "只", "animal"),
    _c("butterfly", "🦋", "butterfly", "蝴蝶", "只", "animal"),
    _c("turtle", "🐢", "turtle|tortoise", "乌龟|海龟", "只", "animal"),
    _c("dinosaur", "🦖 🦕", "dinosaur|t-rex", "恐龙", "只", "animal"),
    _c("apple", "🍎:red 🍏:green", "apple", "苹果", "个", "food"),
    _c("banana", "🍌:yellow", "banana", "香蕉", "根", "food"),
    _c("strawberry", "🍓:red", "strawberry", "草莓", "颗", "food"),
    _c("pizza", "🍕", "pizza|slice of pizza", "披萨|比萨", "块", "food"),
    _c("cake", "🎂 🍰", "cake|birthday cake", "蛋糕|生日蛋糕", "块", "food"),
    _c("ice_cream", "🍦 🍨", "ice cream|ice cream cone", "冰淇淋|雪糕", "个", "food"),
    _c("hamburger", "🍔", "hamburger|burger", "汉堡|汉堡包", "个", "food"),
    _c("coffee", "☕", "coffee|cup of coffee", "咖啡|一杯咖啡", "杯", "food"),
    _c("car", "🚗:red 🚙:blue 🚕:yellow", "car|automobile|taxi", "汽车|小汽车|车", "辆", "vehicle"),
    _c("bus", "🚌", "bus", "公交车|巴士|公共汽车", "辆", "vehicle"),
    _c("bicycle", "🚲", "bicycle|bike", "自行车|单车", "辆", "vehicle"),
    _c("train", "🚆 🚂", "train|locomotive", "火车|列车", "列", "vehicle"),
    _c("airplane", "✈️ 🛩️", "airplane|plane|aeroplane", "飞机", "架", "vehicle"),
    _c("boat", "⛵ 🚤", "boat|sailboat|ship", "船|小船|帆船", "艘", "vehicle"),
    _c("rocket", "🚀", "rocket|spaceship", "火箭|宇宙飞船", "枚", "vehicle"),
    _c("house", "🏠 🏡", "house|home", "房子|房屋|家", "栋", "object"),
    _c("book", "📖 📚 📕:red", "book|storybook", "书|书本", "本", "object"),
    _c("guitar", "🎸", "guitar", "吉他", "把", "object"),
    _c("phone", "📱 ☎️", "phone|smartphone|telephone", "手机|电话", "部", "object"),
    _c("computer", "💻 🖥️", "computer|laptop", "电脑|笔记本电脑|计算机", "台", "object"),
    _c("shoe", "👟 👞 👠", "shoe|sneaker", "鞋|鞋子|运动鞋", "只", "object"),
    _c("ball", "⚽ 🏀 🎾", "ball|football|basketball", "球|足球|篮球", "个", "object"),
    _c("umbrella", "☔ ☂️", "umbrella|rain umbrella", "雨伞|伞|下雨", "把", "object"),
    _c("clock", "⏰ 🕒", "clock|alarm clock", "钟|闹钟|时钟", "个", "object"),
    _c("key", "🔑 🗝️", "key", "钥匙", "把", "object"),
    _c("gift", "🎁", "gift|present", "礼物|礼盒", "份", "object"),
    _c("robot", "🤖", "robot", "机器人", "个", "object"),
    _c("tree", "🌳 🌲", "tree|pine tree", "树|大树|松树", "棵", "nature"),
    _c("flower", "🌸:pink 🌻:yellow 🌷:pink 🌹:red", "flower|blossom|rose", "花|花朵|鲜花", "朵", "nature"),
    _c("sun", "☀️ 🌞", "sun|sunshine", "太阳|阳光", "个", "nature", drawn="sun"),
    _c("moon", "🌙 🌕", "moon|crescent moon", "月亮|月", "个", "nature", drawn="moon"),
    _c("mountain", "⛰️ 🏔️ 🗻", "mountain|mountain peak", "山|高山|雪山", "座", "nature"),
    _c("beach", "🏝️", "beach|island", "海滩|沙滩|小岛", "片", "nature"),
    _c("fire", "🔥", "fire|flame", "火|火焰", "团", "nature"),
    _c("snowman", "⛄ ☃️", "snowman", "雪人", "个", "nature"),
    _c("baby", "👶", "baby|infant", "宝宝|婴儿|小宝宝", "个", "person"),
    _c("ghost", "👻", "ghost", "幽灵|鬼", "个", "symbol"),
    _c("heart", "❤️:red 💖:pink 💙:blue", "heart|love heart", "爱心|心|心形", "颗", "symbol", drawn="heart"),
    _c("star", "⭐:yellow 🌟:yellow", "star", "星星|星", "颗", "symbol", drawn="star"),
)

CONCEPTS_BY_KEY: dict[str, Concept] = {concept.key: concept for concept in CONCEPTS}

# Colour words the captions use, English and Chinese ("a red car", "红色的汽车").
COLOURS: dict[str, tuple[str, str]] = {
    "red": ("red", "红色"),
    "blue": ("blue", "蓝色"),
    "yellow": ("yellow", "黄色"),
    "green": ("green", "绿色"),
    "pink": ("pink", "粉色"),
    "orange": ("orange", "橙色"),
    "purple": ("purple", "紫色"),
    "brown": ("brown", "棕色"),
}
