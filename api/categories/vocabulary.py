"""The default category vocabulary (信访事项分类): two levels, codes and Chinese names.

Drawn from the matters the seeds and SPEC name: land acquisition and hill disputes grow with
the town's development (seed 002 第一篇), the departments a town brings together for them
(国土, 林业, 水利, 计生, 劳保, 民政, 司法, 派出所, 法庭: seed 000, seed 002), wages, demolition and
social security (SPEC §2 registration), 涉法涉诉 handled jointly with the courts (seed 000).
A deployment edits this list through `/v1/categories`; codes in use are never deleted, only
retired, so a case's category always resolves to a name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DefaultCategory:
    """One entry of the default vocabulary; `parent` is None for a top-level class (大类)."""

    code: str
    name: str
    name_en: str
    parent: str | None = None


OTHER = "other"
"""The class of a matter no code fits; the desk's own words go in `category_text`."""

UNCLASSIFIED = "unclassified"
"""A case handed down without a category, until the desk classifies it (seed 002 交办)."""

DEFAULT_CATEGORIES: tuple[DefaultCategory, ...] = (
    DefaultCategory("land", "国土资源", "Land and resources"),
    DefaultCategory("land.acquisition", "征地补偿", "Land acquisition and compensation", "land"),
    DefaultCategory("land.contract", "土地承包", "Land contracting", "land"),
    DefaultCategory("land.homestead", "宅基地", "Homestead land", "land"),
    DefaultCategory("land.mining", "矿产资源", "Mining and mineral resources", "land"),
    DefaultCategory("forestry", "林业", "Forestry"),
    DefaultCategory(
        "forestry.hill_dispute", "山林权属纠纷", "Forest and hill disputes", "forestry"
    ),
    DefaultCategory("forestry.logging", "林木采伐", "Logging", "forestry"),
    DefaultCategory("labour", "劳动和社会保障", "Labour and social security"),
    DefaultCategory("labour.wages", "拖欠工资", "Unpaid wages", "labour"),
    DefaultCategory("labour.social_security", "社会保险", "Social insurance", "labour"),
    DefaultCategory("labour.injury", "工伤", "Work injury", "labour"),
    DefaultCategory("urban", "城乡建设", "Urban and rural construction"),
    DefaultCategory("urban.demolition", "房屋拆迁", "Demolition and relocation", "urban"),
    DefaultCategory("urban.housing", "住房保障", "Housing", "urban"),
    DefaultCategory("urban.planning", "规划建设", "Planning and building", "urban"),
    DefaultCategory("rural", "农业农村", "Agriculture and rural affairs"),
    DefaultCategory("rural.subsidy", "涉农惠农资金", "Farm subsidies and funds", "rural"),
    DefaultCategory("rural.water", "水利", "Water conservancy", "rural"),
    DefaultCategory("rural.village_affairs", "村务财务", "Village affairs and accounts", "rural"),
    DefaultCategory("civil", "民政", "Civil affairs"),
    DefaultCategory(
        "civil.assistance", "低保和社会救助", "Subsistence and social assistance", "civil"
    ),
    DefaultCategory("civil.veterans", "优抚安置", "Veterans and their families", "civil"),
    DefaultCategory("public_security", "公安", "Public security"),
    DefaultCategory("public_security.order", "社会治安", "Public order", "public_security"),
    DefaultCategory(
        "public_security.law_enforcement", "执法办案", "Police casework", "public_security"
    ),
    DefaultCategory("law", "政法", "Courts and law"),
    DefaultCategory("law.litigation", "涉法涉诉", "Court and litigation matters", "law"),
    DefaultCategory("law.procuratorate", "检察", "Procuratorate", "law"),
    DefaultCategory("enterprise", "企业", "Enterprises"),
    DefaultCategory(
        "enterprise.restructuring", "企业改制", "Enterprise restructuring", "enterprise"
    ),
    DefaultCategory("environment", "生态环境", "Environment"),
    DefaultCategory("environment.pollution", "环境污染", "Pollution", "environment"),
    DefaultCategory("education_health", "教育卫生", "Education and health"),
    DefaultCategory("education_health.education", "教育", "Education", "education_health"),
    DefaultCategory("education_health.medical", "医疗卫生", "Medical care", "education_health"),
    DefaultCategory(
        "education_health.family_planning", "计划生育", "Family planning", "education_health"
    ),
    DefaultCategory("conduct", "干部作风", "Officials' conduct"),
    DefaultCategory("conduct.discipline", "纪检监察", "Discipline and supervision", "conduct"),
    DefaultCategory(OTHER, "其他", "Other"),
    DefaultCategory(UNCLASSIFIED, "待分类", "Not yet classified"),
)
