"""English and Chinese captions and notes for generated pictures.

Search queries are short ("cute puppy", "可爱的小狗") but the product also embeds users'
notes, which are sentences ("Max, our puppy, fell asleep on the sofa"). Training on both
kinds, in both languages, with synonyms, puts queries, notes and pictures of one concept
close together in the shared space.
"""

import random
from collections.abc import Sequence
from typing import Literal

from .concepts import COLOURS, Concept

Language = Literal["en", "zh"]

EN_ADJECTIVES = (
    "cute", "small", "little", "big", "happy", "funny", "lovely", "adorable", "tiny", "colorful",
    "beautiful", "nice",
)
ZH_ADJECTIVES = ("可爱", "小小", "漂亮", "有趣", "快乐", "萌萌", "彩色", "美丽", "大大")

EN_SHORT = (
    "{n}", "a {n}", "the {n}", "a cute {n}", "a {a} {n}", "{a} {n}", "a photo of a {n}",
    "a photo of a {a} {n}", "a picture of a {n}", "an image of the {n}", "an emoji of a {n}",
    "a drawing of a {n}", "my {n}", "this is a {n}", "look at this {n}", "a cartoon {n}",
    "a close-up photo of a {n}", "a small picture of a {n}", "{n} picture", "cute {n}",
)
ZH_SHORT = (
    "{n}", "可爱的{n}", "一{m}{n}", "一{m}可爱的{n}", "{a}的{n}", "一张{n}的照片",
    "一张{a}的{n}的照片", "{n}的图片", "我的{n}", "这是一{m}{n}", "看这{m}{n}", "{n}的照片",
    "一幅{n}的画", "卡通{n}", "{n}表情", "一{m}{a}的{n}",
)
# Short captions that name the object's colour ({c}), used for pictures whose object has
# one ("a red car", "红色的汽车"), so colour words in queries mean something.
EN_COLOUR_SHORT = (
    "a {c} {n}", "{c} {n}", "the {c} {n}", "a photo of a {c} {n}", "a {a} {c} {n}", "a picture of a {c} {n}",
    "my {c} {n}", "a {c} {n} emoji",
)
ZH_COLOUR_SHORT = ("{c}的{n}", "一{m}{c}的{n}", "{c}{n}", "一张{c}的{n}的照片", "{a}的{c}{n}", "我的{c}{n}")
# Share of single-object captions that name a known colour.
COLOUR_CAPTION_PROBABILITY = 0.35

# Notes that fit any concept.
EN_NOTES = (
    "Saw a {n} today on the way home.",
    "Remember to take a picture of the {n} tomorrow.",
    "Note to self: the {n} photo from last weekend.",
    "We found a {a} {n} this morning and everyone loved it.",
    "Grandma sent me this picture of a {n}.",
    "My favourite thing this week was the {n}.",
    "Look what I found: a {a} {n}!",
    "The kids drew a {n} for the school project.",
    "Is this the {n} you were talking about?",
    "Just a {n}, nothing special, but I like it.",
)
ZH_NOTES = (
    "今天回家的路上看到了一{m}{n}。",
    "记得明天给{n}拍张照片。",
    "上周末拍的{n}的照片。",
    "今天早上我们发现了一{m}{a}的{n}，大家都很喜欢。",
    "奶奶给我发了一张{n}的照片。",
    "这周我最喜欢的就是这{m}{n}。",
    "你看，我找到了一{m}{a}的{n}！",
    "孩子们为学校的作业画了一{m}{n}。",
    "这就是你说的那{m}{n}吗？",
    "只是一{m}普通的{n}，但我很喜欢。",
)
# Notes that only make sense for some categories; {p} is a pet's or person's name.
EN_CATEGORY_NOTES = {
    "animal": (
        "{p}, our {n}, fell asleep on the sofa.",
        "Our {n} {p} ran around the park all afternoon.",
        "The {n} at the zoo was so {a} today.",
        "Feeding the {n} before breakfast.",
    ),
    "food": (
        "Had a {n} for lunch, it was delicious.",
        "Bought a {n} at the market this morning.",
        "Mum made a {n} for my birthday.",
    ),
    "vehicle": (
        "We took the {n} to the city last summer.",
        "Dad fixed the {n} in the garage on Sunday.",
        "A {n} was parked outside our house.",
    ),
    "object": (
        "I left my {n} at the office again.",
        "{p} got a new {n} for her birthday.",
        "Found an old {n} in the attic.",
    ),
    "nature": (
        "The {n} looked amazing on our holiday.",
        "We walked past the {n} on our trip.",
        "What a view: the {n} at sunset.",
    ),
    "person": (
        "Our {n} {p} smiled at the camera today.",
        "Our {n} {p} is learning to crawl.",
        "The {n} slept through the whole night.",
    ),
    "symbol": (
        "Drew a {n} on the birthday card for {p}.",
        "The {n} sticker on my notebook.",
        "A {a} {n} for the party decorations.",
    ),
    "thing": (),
}
ZH_CATEGORY_NOTES = {
    "animal": (
        "我家的{n}在公园里跑。",
        "我们家的{n}{p}在沙发上睡着了。",
        "今天动物园里的{n}好{a}。",
        "早饭前先喂{n}。",
    ),
    "food": (
        "午饭吃了一{m}{n}，很好吃。",
        "今天早上在市场买了一{m}{n}。",
        "妈妈给我的生日做了{n}。",
    ),
    "vehicle": (
        "去年夏天我们坐{n}去了城里。",
        "爸爸周日在车库里修{n}。",
        "我家门口停着一{m}{n}。",
    ),
    "object": (
        "我又把{n}落在办公室了。",
        "{p}生日收到了一{m}新{n}。",
        "在阁楼里找到了一{m}旧{n}。",
    ),
    "nature": (
        "度假时看到的{n}太美了。",
        "旅行的时候我们路过了{n}。",
        "日落时的{n}，风景真好。",
    ),
    "person": (
        "{n}{p}今天对着镜头笑了。",
        "我们家的{n}{p}在学爬。",
        "{n}一整晚都睡得很香。",
    ),
    "symbol": (
        "在给{p}的生日卡上画了一{m}{n}。",
        "我笔记本上的{n}贴纸。",
        "派对装饰用的{a}{n}。",
    ),
    "thing": (),
}
EN_NAMES = ("Max", "Bella", "Luna", "Charlie", "Coco", "Milo", "Lily", "Oscar")
ZH_NAMES = ("豆豆", "旺财", "小白", "球球", "乐乐", "毛毛", "小美", "多多")

EN_GROUP_SHORT = (
    "{list}", "a picture of {list}", "a photo with {list}", "{list} together",
    "{list} in one picture", "an image showing {list}",
)
ZH_GROUP_SHORT = ("{list}", "{list}的图片", "一张有{list}的照片", "{list}在一起", "可爱的{list}")
EN_GROUP_NOTES = (
    "Today we saw {list}.",
    "Our photo from the weekend: {list}.",
    "The kids drew {list} on the wall.",
)
ZH_GROUP_NOTES = ("今天我们看到了{list}。", "周末拍的照片：{list}。", "孩子们在墙上画了{list}。")


def _with_article(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def _en_list(names: Sequence[str]) -> str:
    items = [_with_article(name) for name in names]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _fix_en_articles(text: str) -> str:
    # Templates say "a {n}"/"a {a} {n}"; repair "a apple", "a adorable cat" after filling.
    words = text.split(" ")
    for i, word in enumerate(words[:-1]):
        if word.lower() == "a" and words[i + 1][:1].lower() in ("a", "e", "i", "o", "u"):
            words[i] = word + "n"
    return " ".join(words)


def colour_caption(concept: Concept, colour: str, rng: random.Random, language: Language) -> str:
    """A short caption naming the object's colour, such as "a red car" or "红色的汽车"."""
    en_colour, zh_colour = COLOURS[colour]
    if language == "en":
        text = rng.choice(EN_COLOUR_SHORT).format(n=rng.choice(concept.en), a=rng.choice(EN_ADJECTIVES), c=en_colour)
        return _fix_en_articles(text)
    return rng.choice(ZH_COLOUR_SHORT).format(
        n=rng.choice(concept.zh), a=rng.choice(ZH_ADJECTIVES), m=concept.zh_measure, c=zh_colour
    )


def short_caption(concept: Concept, rng: random.Random, language: Language) -> str:
    """A short description or query such as "a cute puppy" or "一只可爱的小狗"."""
    if language == "en":
        template = rng.choice(EN_SHORT)
        text = template.format(n=rng.choice(concept.en), a=rng.choice(EN_ADJECTIVES))
        return _fix_en_articles(text)
    template = rng.choice(ZH_SHORT)
    return template.format(n=rng.choice(concept.zh), a=rng.choice(ZH_ADJECTIVES), m=concept.zh_measure)


def note(concept: Concept, rng: random.Random, language: Language) -> str:
    """A sentence-like personal note about the concept, like the notes users attach."""
    if language == "en":
        templates = EN_NOTES + EN_CATEGORY_NOTES[concept.category]
        text = rng.choice(templates).format(
            n=rng.choice(concept.en), a=rng.choice(EN_ADJECTIVES), p=rng.choice(EN_NAMES)
        )
        return _fix_en_articles(text)
    templates = ZH_NOTES + ZH_CATEGORY_NOTES[concept.category]
    return rng.choice(templates).format(
        n=rng.choice(concept.zh), a=rng.choice(ZH_ADJECTIVES), m=concept.zh_measure, p=rng.choice(ZH_NAMES)
    )


def group_caption(concepts: Sequence[Concept], rng: random.Random, language: Language) -> str:
    """A caption naming every object of a multi-object picture, in random order."""
    shuffled = list(concepts)
    rng.shuffle(shuffled)
    as_note = rng.random() < 0.3
    if language == "en":
        listed = _en_list([rng.choice(concept.en) for concept in shuffled])
        template = rng.choice(EN_GROUP_NOTES if as_note else EN_GROUP_SHORT)
        return template.format(list=listed)
    names = [f"一{concept.zh_measure}{rng.choice(concept.zh)}" if rng.random() < 0.5 else rng.choice(concept.zh)
             for concept in shuffled]
    listed = names[0] if len(names) == 1 else "、".join(names[:-1]) + "和" + names[-1]
    template = rng.choice(ZH_GROUP_NOTES if as_note else ZH_GROUP_SHORT)
    return template.format(list=listed)


def caption(
    concepts: Sequence[Concept],
    rng: random.Random,
    *,
    note_probability: float = 0.3,
    colours: Sequence[str | None] | None = None,
) -> str:
    """A random caption for a picture of ``concepts``: either language, short or a note.

    ``colours`` (from ``render.render_scene``) lets a single-object caption name the
    object's colour now and then.
    """
    language: Language = rng.choice(("en", "zh"))
    if len(concepts) > 1:
        return group_caption(concepts, rng, language)
    if rng.random() < note_probability:
        return note(concepts[0], rng, language)
    colour = colours[0] if colours else None
    if colour is not None and rng.random() < COLOUR_CAPTION_PROBABILITY:
        return colour_caption(concepts[0], colour, rng, language)
    return short_caption(concepts[0], rng, language)
