"""The demo county and the shape of its year: names, posts and the weights every draw uses.

Nothing here touches the database or the clock: `plan_cases` turns a seed and the last day of
the year into the same petitions every time, each with the fates the loader plays out.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from api.kit.timeutil import CHINA

COUNTY = "清河县"
SEED = 2026
# What a small county (four towns, fourteen villages) registers in a year: every written notice
# of it is rendered with its CJK font, which sets the pace of the load.
CASES_PER_YEAR = 120

# town → its villages (乡镇 → 村)
TOWNS: dict[str, list[str]] = {
    "城关镇": ["东关村", "西关村", "南街村", "北街村"],
    "河口镇": ["河口村", "柳湾村", "沙洲村"],
    "青山乡": ["青山村", "石岭村", "松树坪村", "竹园村"],
    "柳林镇": ["柳林村", "杨家庄村", "新建村"],
}
# The policy's default handling time (`deadlines.handling_days`, 条例 art. 34): a reply later
# than this misses it.
HANDLING_DAYS = 60
# Family names drawn for officials and petitioners.
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红德福春玉兰海林文"

# channel → weight (来访 most, then 网上信访)
CHANNELS = {"visit": 34, "online": 26, "letter": 14, "phone": 16, "grid": 10}
# category code (api/categories/vocabulary.py) → weight: land acquisition and hill disputes
# grow with a town's development (seed 002 第一篇)
CATEGORIES = {
    "land.acquisition": 22,
    "forestry.hill_dispute": 14,
    "labour.wages": 9,
    "land.contract": 8,
    "urban.demolition": 7,
    "civil.assistance": 6,
    "land.homestead": 5,
    "rural.subsidy": 5,
    "rural.village_affairs": 4,
    "labour.social_security": 4,
    "environment.pollution": 4,
    "public_security.order": 3,
    "law.litigation": 3,
    "education_health.medical": 2,
    "conduct.discipline": 2,
    "other": 2,
}
# month → weight: before the Spring Festival (wages), spring ploughing and the summer's
# land work are busy; the harvest and the holidays are quiet
MONTHS = {1: 12, 2: 9, 3: 10, 4: 9, 5: 8, 6: 9, 7: 8, 8: 7, 9: 7, 10: 6, 11: 8, 12: 11}
# where a visit was lodged → weight; above the county is a skip-level petition (越级访)
VISIT_LEVELS = {"town": 72, "county": 18, "city": 6, "province": 3, "national": 1}

TITLES: dict[str, tuple[str, str]] = {
    "land.acquisition": (
        "征地补偿款未足额发放",
        "村民反映{village}组集体土地被征收后，补偿款至今未足额发放到户。",
    ),
    "forestry.hill_dispute": (
        "山林权属争议",
        "{village}与邻村因一片山林的权属发生争执，双方均持有林权证。",
    ),
    "labour.wages": (
        "工程款及农民工工资拖欠",
        "在{town}某工地务工，年底工资仍未结清，多次讨要无果。",
    ),
    "land.contract": ("土地承包经营权纠纷", "二轮延包时承包地面积与合同不符，要求重新丈量。"),
    "urban.demolition": ("房屋拆迁安置问题", "旧房拆除后安置房迟迟未交付，过渡费停发。"),
    "civil.assistance": (
        "申请低保未获批准",
        "家中老人常年患病，申请最低生活保障未获批准，要求复核。",
    ),
    "land.homestead": ("宅基地审批问题", "申请建房宅基地两年未获审批，要求说明理由。"),
    "rural.subsidy": ("惠农补贴未到账", "耕地地力保护补贴今年未发放到户。"),
    "rural.village_affairs": ("村务财务不公开", "村集体收支多年未公开，要求公开账目。"),
    "labour.social_security": ("养老保险待遇问题", "达到领取年龄后养老金迟迟未发放。"),
    "environment.pollution": ("养殖场污染问题", "村旁养殖场粪污直排，影响饮用水源。"),
    "public_security.order": (
        "邻里纠纷引发治安问题",
        "邻里宅基地界址纠纷多次发生冲突，要求依法处理。",
    ),
    "law.litigation": ("判决执行问题", "民事判决生效一年仍未执行到位。"),
    "education_health.medical": ("医疗费用报销问题", "住院费用新农合报销比例有异议。"),
    "conduct.discipline": ("反映村干部作风问题", "反映村干部优亲厚友，低保评定不公。"),
    "other": ("渔船码头停靠收费问题", "反映渔船在村码头停靠被重复收费，请求协调解决。"),
}


@dataclass(frozen=True)
class Person:
    """An official of the demo county: where, in which post, under which login."""

    key: str
    name: str
    unit: str  # the unit's name
    role: str
    username: str


@dataclass
class PlannedCase:
    """One petition and the fates the loader plays out for it."""

    n: int
    received_at: datetime
    channel: str
    category: str
    town: str
    village: str
    level: str
    headcount: int
    petitioners: list[dict[str, Any]]
    title: str
    content: str
    fate: dict[str, Any] = field(default_factory=dict)


def pick(rng: random.Random, weights: dict[Any, int]) -> Any:
    """One key drawn by its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def allot(rng: random.Random, weights: dict[str, int], n: int) -> list[str]:
    """`n` keys in proportion to their weights (largest remainders), shuffled: a small year
    keeps the shares it is drawn to show."""
    total = sum(weights.values())
    exact = {key: n * weight / total for key, weight in weights.items()}
    counts = {key: int(share) for key, share in exact.items()}
    by_remainder = sorted(exact, key=lambda key: exact[key] - counts[key], reverse=True)
    for key in by_remainder[: n - sum(counts.values())]:
        counts[key] += 1
    keys = [key for key, count in counts.items() for _ in range(count)]
    rng.shuffle(keys)
    return keys


def person_name(rng: random.Random) -> str:
    """A Chinese name of two or three characters."""
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    return rng.choice(SURNAMES) + given


def officials(rng: random.Random) -> list[Person]:
    """Who holds which post: the county's leaders and petition office, each town's chief,
    deputy, petition staff and information officer, each village's chief, and grid workers."""
    people = [
        Person("county_chief", person_name(rng), COUNTY, "chief", "qh-xianzhang"),
        Person("county_deputy", person_name(rng), COUNTY, "deputy", "qh-fuxianzhang"),
        Person("county_staff", person_name(rng), COUNTY, "petition_staff", "qh-xinfang"),
        Person("county_staff2", person_name(rng), COUNTY, "petition_staff", "qh-xinfang2"),
    ]
    for t, (town, villages) in enumerate(TOWNS.items(), start=1):
        for role, suffix in (
            ("chief", "sj"),
            ("deputy", "fz"),
            ("petition_staff", "xf"),
            ("info_officer", "xxy"),
        ):
            people.append(
                Person(f"{town}:{role}", person_name(rng), town, role, f"qh-t{t}-{suffix}")
            )
        for v, village in enumerate(villages, start=1):
            people.append(
                Person(f"{village}:chief", person_name(rng), village, "chief", f"qh-t{t}v{v}-zr")
            )
            if v == 1:
                people.append(
                    Person(
                        f"{village}:grid_worker",
                        person_name(rng),
                        village,
                        "grid_worker",
                        f"qh-t{t}v{v}-wg",
                    )
                )
    return people


def _moment(rng: random.Random, day: date) -> datetime:
    """A working hour of the local day, in UTC."""
    local = datetime.combine(day, time(8, 30), tzinfo=CHINA)
    return (local + timedelta(minutes=rng.randrange(0, 8 * 60))).astimezone(UTC)


def _days(rng: random.Random, first: date, last: date) -> list[date]:
    """The days of the cases, by the month's weight and fewer at weekends."""
    span = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    weights = [MONTHS[d.month] * (3 if d.weekday() >= 5 else 10) for d in span]
    return sorted(rng.choices(span, weights=weights, k=CASES_PER_YEAR))


def plan_cases(rng: random.Random, last: date) -> list[PlannedCase]:
    """A year of petitions up to `last` (local), in the order received, with their fates."""
    first = last - timedelta(days=364)
    cases: list[PlannedCase] = []
    earlier: list[PlannedCase] = []
    days = _days(rng, first, last)
    channels = allot(rng, CHANNELS, len(days))
    categories = allot(rng, CATEGORIES, len(days))
    for n, day in enumerate(days, start=1):
        channel, category = channels[n - 1], categories[n - 1]
        town = rng.choice(list(TOWNS))
        village = rng.choice(TOWNS[town])
        if channel == "visit":
            level = pick(rng, VISIT_LEVELS)
        elif channel == "grid":
            level = "village"
        else:
            # a letter, call or online petition to the county from a village under a town
            # skips the town too (越级, `_skipped` in cases/service.py): most go to the town
            level = "county" if rng.random() < 0.15 else "town"
        collective = channel == "visit" and rng.random() < 0.12
        headcount = rng.randrange(5, 31) if collective else rng.choice((1, 1, 1, 2, 3))
        title, content = TITLES[category]
        petitioners: list[dict[str, Any]]
        repeat_of = None
        if earlier and rng.random() < 0.07:
            repeat_of = rng.choice(earlier[-80:])  # the same people on the same matter again
        if repeat_of is not None:
            town, village, category = repeat_of.town, repeat_of.village, repeat_of.category
            title, content = TITLES[category]
            petitioners = repeat_of.petitioners
        else:
            petitioners = [
                {
                    "name": person_name(rng),
                    "phone": f"13{rng.randrange(10**9):09d}",
                    "address": f"{COUNTY}{town}{village}",
                    "is_representative": headcount >= 5,
                }
            ]
        case = PlannedCase(
            n=n,
            received_at=_moment(rng, day),
            channel=channel,
            category=category,
            town=town,
            village=village,
            level=level,
            headcount=max(headcount, len(petitioners)),
            petitioners=petitioners,
            title=f"{village}{title}",
            content=content.format(village=village, town=town),
        )
        case.fate = _fate(rng, case)
        cases.append(case)
        earlier.append(case)
    return cases


def _fate(rng: random.Random, case: PlannedCase) -> dict[str, Any]:
    """What happens to it: every delay in hours or days after the step before, and which
    deadlines are let slip (most are met: a county that misses one in ten is a poor one)."""
    limit = rng.choice((30, 30, 45, 60))
    roll = rng.random()
    ending = "reject" if roll < 0.04 else "redirect" if roll < 0.07 else "handle"
    return {
        "arrive_in_time": rng.random() < 0.88,
        "arrival_minutes": rng.randrange(10, 40),
        "ending": ending,
        # 受理/处置 within the disposition time, a few late
        "accept_after_days": rng.choice((1, 1, 2, 2, 3, 4, 5, 7))
        + (16 if rng.random() < 0.05 else 0),
        "notice_after_days": rng.choice((0, 1, 1, 2, 3)),
        "proof": rng.random() < 0.9,
        "assign_after_days": rng.choice((0, 0, 0, 1, 1, 3)),
        "time_limit_days": limit,
        # the answer: most first petitions within the 7 working days (初信初访), others
        # within the time limit, some overrun it (按期办结率 below 100 %)
        "reply_days": _reply_days(rng, limit),
        "serve_after_days": rng.choice((0, 1, 2, 3)),
        "satisfied": rng.random() < 0.86,
        "follow_up_after_days": rng.choice((1, 2, 3, 3, 4, 5, 5, 12)),
        "reached": rng.random() < 0.93,
        "close_after_days": rng.choice((1, 2, 3, 5)),
        "outcome": "resolved" if rng.random() < 0.8 else "stabilized",
        # 复查: now and then the petitioner asks the office above for a review after the close
        "review": rng.random() < 0.08,
        "review_after_days": rng.randrange(3, 12),
        "review_days": rng.randrange(8, 25),
    }


def _reply_days(rng: random.Random, limit: int) -> float:
    roll = rng.random()
    if roll < 0.7:
        return rng.uniform(1, 7)
    if roll < 0.92:
        return rng.uniform(10, limit * 0.9)
    # past the handling time of the regulation (60 days from acceptance, art. 34): 超期
    return rng.uniform(HANDLING_DAYS + 3, HANDLING_DAYS + 30)
