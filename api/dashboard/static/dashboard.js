// 信访工作态势: the county dashboard. Plain ES module, no build step, no inline code (CSP).
// It logs in like any client (password form or a service token), then polls the stats API
// with If-None-Match and re-renders only when an answer changed.

const API = new URL("./", window.location.href); // the API serves this page: same origin
const TOKEN_KEY = "petition-desk.dashboard.token";
const params = new URLSearchParams(window.location.search);
const POLL_SECONDS = Math.max(0.5, Number(params.get("poll")) || 10);

const CHANNELS = {
  visit: "来访",
  letter: "来信",
  phone: "来电",
  online: "网上信访",
  grid: "网格员上报",
};
const STATUSES = {
  registered: "已登记",
  accepted: "已受理",
  assigned: "已交办",
  replied: "已答复",
  closed: "已办结",
  review: "复查中",
  reviewed: "已复查",
  re_review: "复核中",
  re_reviewed: "已复核",
  terminated: "已终结",
  archived: "已归档",
};
const LODGED_LEVELS = {
  village: "村级",
  area: "管理区",
  town: "乡镇",
  county: "县级",
  city: "市级",
  province: "省级",
  national: "进京",
};
const UNIT_LEVELS = {
  province: "省",
  city: "市",
  county: "县",
  town: "乡镇",
  area: "管理区",
  village: "村",
  department: "部门",
};
// [key, label, higher is better, what it measures (shown under the figure and as its tooltip)]
const RATES = [
  ["on_time_disposition", "按时处置率", true,
    "登记后在处置时限内交办、不予受理或导入法定途径的件数，占已到处置时限件数的比例"],
  ["on_time_completion", "按期办结率", true,
    "在办理期限内答复并送达信访人的件数，占已到办理期限件数的比例"],
  ["satisfaction", "满意率", true, "信访人评价“满意”的件数，占作出评价件数的比例"],
  ["first_visit_resolution", "初信初访一次办结率", true,
    "首次信访办结后未再申请复查、未走到终结的件数，占首次信访已办结件数的比例"],
  ["repeat", "重复访率", false, "同一信访人就同一事项再次信访的件数占信访总量的比例，越低越好"],
  ["skip_level", "越级访率", false,
    "越过应受理层级（如未到乡镇直接到县，或到市、到省、进京）的件数占信访总量的比例，越低越好"],
  ["arrival_on_time", "到位及时率", true,
    "来访发生后，有关负责人在到位时限内赶到现场的次数，占已到时限到位次数的比例"],
];
// Where a rate's target comes from: the policy in force (GET /v1/policies), else none shown.
// 按期办结率: the monthly bulletin praises a unit only at or above this; 到位 and 处置 are
// owed every time (each miss is a deduction in the scores), so their target is all of them.
const RATE_TARGETS = {
  on_time_completion: (policy) => policy?.bulletin?.praise_min_on_time_completion,
  on_time_disposition: () => 1,
  arrival_on_time: () => 1,
};
// Counts that are bad whenever they are not zero.
const BAD_WHEN_ANY = [
  "kpi-open-overdue",
  "kpi-escalations",
  "kpi-unanswered",
  "kpi-onsite",
];
const OTHER = "其他";
const REASONS = {
  deadline_missed: "超期未办",
  no_acknowledgement: "逾时未签收",
  manual: "手动升级",
  unanswered: "督办链已尽，无人签收",
  nobody_to_notify: "无人可通知（空缺或无联系方式）",
};
// Steps that reached the county petition office because nobody answered (issue 19 §4).
const UNANSWERED = new Set(["unanswered", "nobody_to_notify"]);
const DASH = "—";
const PALETTE = ["#4fc3f7", "#ffb74d", "#81c784", "#ba68c8", "#e57373", "#90a4ae"];

const $ = (id) => document.getElementById(id);

/** Build an element; children are nodes or text (never parsed as HTML). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("data-")) node.setAttribute(name, String(value));
    else node[name] = value;
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : String(child ?? ""));
  }
  return node;
}

/** The Chinese name of a key; an unknown key shows as `fallback` ("其他"), never raw. */
const label = (table, key, fallback = OTHER) => table[key] ?? fallback;

function formatRate(r) {
  if (!r || r.rate === null || r.rate === undefined) return DASH;
  return `${(r.rate * 100).toFixed(1)}%`;
}

/** A share (0.8) as a percentage ("80%"), without a trailing ".0". */
function percent(share) {
  return `${Number((share * 100).toFixed(1))}%`;
}

// The category vocabulary's Chinese names (GET /v1/categories), loaded once per login.
const categories = new Map();

async function loadCategories() {
  if (categories.size > 0) return;
  try {
    const answer = await getJson("v1/categories");
    for (const item of answer.ok ? answer.data.items || [] : []) {
      categories.set(item.code, item.name);
    }
  } catch (error) {
    if (error instanceof LoginRequired) throw error;
  }
}

const categoryName = (code) => categories.get(code) ?? OTHER;

// The policy in force, for the targets of the rates (null when the caller may not read it).
let policy = null;

async function loadPolicy() {
  if (policy) return;
  const answer = await getJson("v1/policies");
  policy = answer.ok ? answer.data.policy || null : null;
}

/** YYYY-MM-DD of a moment in Asia/Shanghai, where the service counts its days. */
function shanghaiDay(date) {
  return new Intl.DateTimeFormat("en-CA", {
    timeZone: "Asia/Shanghai",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(date);
}

function shanghaiTime(value) {
  return new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
  }).format(new Date(value));
}

function elapsed(since) {
  const minutes = Math.max(0, Math.floor((Date.now() - new Date(since).getTime()) / 60000));
  if (minutes < 60) return `${minutes} 分钟`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} 小时`;
  return `${Math.floor(hours / 24)} 天`;
}

function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** The statistics period: ?from=&to= when given, else the selected preset ending today. */
function period() {
  const today = shanghaiDay(new Date());
  const choice = $("period").value;
  if (choice === "custom") {
    return { from: params.get("from") || today, to: params.get("to") || today };
  }
  if (choice === "year") return { from: `${today.slice(0, 4)}-01-01`, to: today };
  return { from: addDays(today, 1 - Number(choice)), to: today };
}

// ---------------------------------------------------------------------------------------------
// Tokens: kept in sessionStorage only (gone with the tab), never in the URL.

function loadToken() {
  try {
    return JSON.parse(sessionStorage.getItem(TOKEN_KEY) || "null");
  } catch {
    return null;
  }
}

function saveToken(token) {
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify(token));
}

function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** A token handed over in the fragment (#token=pds_…) for wall displays; then drop it from the
 * address bar so it is not left on screen or in the history. */
function takeFragmentToken() {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const token = fragment.get("token");
  if (!token) return;
  saveToken({ access_token: token });
  history.replaceState(null, "", window.location.pathname + window.location.search);
}

class LoginRequired extends Error {}

let refreshing = null;

async function refreshToken() {
  const token = loadToken();
  if (!token || !token.refresh_token) return false;
  refreshing ??= (async () => {
    try {
      const resp = await fetch(new URL("v1/auth/refresh", API), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: token.refresh_token }),
        cache: "no-store",
      });
      if (!resp.ok) return false;
      saveToken(await resp.json());
      return true;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

// ---------------------------------------------------------------------------------------------
// Reading the API with ETags: each URL keeps its last ETag and body; a 304 reuses the body.

const cache = new Map(); // url -> {etag, data}

/**
 * GET a JSON resource. Answers {ok, changed, data, status}: `changed` is true only on a 200
 * whose body differs from the last one. 404/501 (an endpoint not there yet) and other errors
 * give ok=false and data=null, so the page shows "—" instead of failing.
 */
async function getJson(path, retried = false) {
  const token = loadToken();
  if (!token) throw new LoginRequired();
  const url = new URL(path, API).toString();
  const cached = cache.get(url);
  const headers = { Authorization: `Bearer ${token.access_token}`, Accept: "application/json" };
  if (cached && cached.etag) headers["If-None-Match"] = cached.etag;
  // no-store: the page does its own revalidation, the browser cache must not answer for it
  const resp = await fetch(url, { headers, cache: "no-store" });
  if (resp.status === 304 && cached) {
    return { ok: true, changed: false, data: cached.data, status: 304 };
  }
  if (resp.status === 401) {
    if (!retried && (await refreshToken())) return getJson(path, true);
    throw new LoginRequired();
  }
  if (!resp.ok) {
    cache.delete(url);
    return { ok: false, changed: cached !== undefined, data: null, status: resp.status };
  }
  const text = await resp.text();
  const changed = !cached || cached.text !== text;
  const data = JSON.parse(text);
  cache.set(url, { etag: resp.headers.get("ETag"), text, data });
  return { ok: true, changed, data, status: resp.status };
}

// ---------------------------------------------------------------------------------------------
// Which unit: ?unit_id=, else the logged-in official's unit, else the top of the tree (the
// province, else the first city, else the first county).

const units = { stack: [], names: new Map() };

async function startingUnit() {
  const given = params.get("unit_id");
  if (given) return given;
  // the official's (or the service token's) own unit
  const me = await getJson("v1/auth/me");
  if (me.ok && me.data.unit_id) return me.data.unit_id;
  for (const level of ["province", "city", "county"]) {
    const found = await getJson(`v1/units?level=${level}&limit=200`);
    if (found.ok && found.data.items.length > 0) return found.data.items[0].id;
  }
  return null;
}

async function unitName(id) {
  if (!units.names.has(id)) {
    const unit = await getJson(`v1/units/${encodeURIComponent(id)}`);
    if (unit.ok) units.names.set(id, `${unit.data.name}（${label(UNIT_LEVELS, unit.data.level)}）`);
  }
  return units.names.get(id) ?? DASH;
}

const currentUnit = () => units.stack[units.stack.length - 1] ?? null;

async function enterUnit(id) {
  units.stack.push(id);
  await showUnit();
}

async function leaveUnit() {
  if (units.stack.length > 1) units.stack.pop();
  await showUnit();
}

async function showUnit() {
  const id = currentUnit();
  const url = new URL(window.location.href);
  url.searchParams.set("unit_id", id);
  history.replaceState(null, "", url.pathname + url.search);
  $("unit-up").hidden = units.stack.length < 2;
  $("unit-name").textContent = await unitName(id);
  await poll(true);
}

// ---------------------------------------------------------------------------------------------
// Rendering. Every number shown carries an id or a data-key so a test can read it.

let perDayChart = null;
let channelChart = null;

function chart(existing, id) {
  if (existing || !window.echarts) return existing;
  return window.echarts.init($(id), null, { renderer: "canvas" });
}

/** Rows of counts, named by `labels` (a table of Chinese names, or a function of the key);
 * a table keeps its order, a function's rows come largest first. */
function countRows(tbodyParent, counts, labels, keyName) {
  const tbody = tbodyParent.querySelector("tbody");
  if (!counts) {
    tbody.replaceChildren(el("tr", {}, el("td", { class: "muted" }, DASH)));
    return;
  }
  const named = typeof labels === "function";
  const name = named ? labels : (k) => label(labels, k);
  const keys = named
    ? Object.keys(counts).sort((a, b) => counts[b] - counts[a])
    : [
        ...Object.keys(labels).filter((k) => k in counts),
        ...Object.keys(counts).filter((k) => !(k in labels)),
      ];
  if (keys.length === 0) {
    tbody.replaceChildren(el("tr", {}, el("td", { class: "muted" }, "无")));
    return;
  }
  tbody.replaceChildren(
    ...keys.map((k) =>
      el(
        "tr",
        { [`data-${keyName}`]: k },
        el("th", {}, name(k)),
        el("td", { class: "num" }, counts[k]),
      ),
    ),
  );
}

function renderSummary(summary) {
  const s = summary || {};
  $("kpi-cases").textContent = summary ? s.cases : DASH;
  $("kpi-collective").textContent = summary && s.collective !== undefined ? s.collective : DASH;
  $("kpi-open-overdue").textContent = summary ? s.open_overdue : DASH;
  $("kpi-arrivals").textContent = s.arrivals ? `${s.arrivals.on_time} / ${s.arrivals.missed}` : DASH;
  $("range").textContent = summary ? `${s.from} 至 ${s.to}` : DASH;

  $("rates").replaceChildren(
    ...RATES.map(([key, name, higherIsBetter, explanation]) => {
      const r = s.rates ? s.rates[key] : null;
      const detail = r ? `${r.numerator} / ${r.denominator}` : DASH;
      const target = RATE_TARGETS[key]?.(policy);
      const judged = rateJudgement(r, higherIsBetter, target);
      return el(
        "div",
        { class: `rate ${judged}`, "data-rate": key, "data-judged": judged, title: explanation },
        el("h3", {}, name),
        el("p", { class: "big", "data-part": "rate" }, formatRate(r)),
        el("p", { class: "sub", "data-part": "fraction" }, detail),
        el(
          "p",
          { class: "sub", "data-part": "target" },
          typeof target === "number" ? `目标 ≥ ${percent(target)}` : higherIsBetter ? "越高越好" : "越低越好",
        ),
        el("p", { class: "explain" }, explanation),
      );
    }),
  );

  countRows($("by-channel"), s.by_channel, CHANNELS, "channel");
  countRows($("by-status"), s.by_status, STATUSES, "status");
  countRows($("by-level"), s.by_lodged_level, LODGED_LEVELS, "level");
  countRows($("by-category"), s.by_category, categoryName, "category");
  judgeCounts();
  renderCharts(s);
}

/** good, bad or none for a rate: against its target when it has one; a rate that should be
 * low is good only at zero (every repeat or skip-level petition counts against the unit). */
function rateJudgement(r, higherIsBetter, target) {
  if (!r || r.rate === null || r.rate === undefined) return "none";
  if (!higherIsBetter) return r.rate === 0 ? "good" : "bad";
  if (typeof target !== "number") return "none";
  return r.rate >= target ? "good" : "bad";
}

/** The counts that should be zero: red when not, green when they are. */
function judgeCounts() {
  for (const id of BAD_WHEN_ANY) {
    const node = $(id);
    const text = node.textContent.trim();
    const judged = text === DASH || text === "" ? "none" : /^0$/.test(text) ? "good" : "bad";
    node.closest(".kpi").dataset.judged = judged;
  }
  const notices = $("kpi-notices").textContent.trim();
  $("kpi-notices").closest(".kpi").dataset.judged =
    notices === DASH ? "none" : /^0 \/ 0$/.test(notices) ? "good" : "bad";
}

/** Every day of the period (the API lists only days with cases), or the listed ones when the
 * period is unknown or too long to draw a bar a day. */
function everyDay(from, to, listed) {
  if (!from || !to) return listed.sort();
  const days = [];
  for (let day = from; day <= to && days.length <= 400; day = addDays(day, 1)) days.push(day);
  return days.length > 400 ? listed.sort() : days;
}

function renderCharts(s) {
  perDayChart = chart(perDayChart, "chart-per-day");
  channelChart = chart(channelChart, "chart-channels");
  if (!perDayChart || !channelChart) return;
  const counted = new Map((s.per_day || []).map((d) => [d.day, d.by_channel]));
  const days = everyDay(s.from, s.to, [...counted.keys()]);
  const seen = new Set([...counted.values()].flatMap((byChannel) => Object.keys(byChannel)));
  const channels = [
    ...Object.keys(CHANNELS).filter((c) => seen.has(c)),
    ...[...seen].filter((c) => !(c in CHANNELS)),
  ];
  const text = { color: "#cfd8dc" };
  perDayChart.setOption(
    {
      color: PALETTE,
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { textStyle: text, top: 0 },
      grid: { left: 40, right: 16, top: 36, bottom: 28 },
      xAxis: { type: "category", data: days, axisLabel: text },
      yAxis: { type: "value", minInterval: 1, axisLabel: text, splitLine: { lineStyle: { color: "#2a3a4d" } } },
      series: channels.map((c) => ({
        name: label(CHANNELS, c),
        type: "bar",
        stack: "cases",
        data: days.map((day) => (counted.get(day) || {})[c] || 0),
      })),
    },
    true,
  );
  const byChannel = s.by_channel || {};
  channelChart.setOption(
    {
      color: PALETTE,
      animation: false,
      tooltip: { trigger: "item" },
      series: [
        {
          type: "pie",
          radius: ["40%", "70%"],
          label: { color: "#cfd8dc", formatter: "{b}: {c}" },
          data: Object.keys(byChannel).map((c) => ({ name: label(CHANNELS, c), value: byChannel[c] })),
        },
      ],
    },
    true,
  );
}

function overdueClass(n) {
  if (n === null || n === undefined) return "unknown";
  if (n === 0) return "ok";
  return n < 3 ? "warn" : "bad";
}

function renderUnits(answer) {
  const box = $("units");
  if (!answer) {
    box.replaceChildren(el("p", { class: "muted" }, DASH));
    return;
  }
  if (answer.items.length === 0) {
    box.replaceChildren(el("p", { class: "muted" }, "无下级单位"));
    return;
  }
  box.replaceChildren(
    ...answer.items.map((item) => {
      const overdue = item.summary ? item.summary.open_overdue : null;
      const tile = el(
        "button",
        {
          type: "button",
          class: `unit ${overdueClass(overdue)}`,
          "data-unit": item.unit.id,
          title: "查看下级",
        },
        el("span", { class: "name" }, item.unit.name),
        el("span", { class: "level" }, label(UNIT_LEVELS, item.unit.level)),
        el("span", { class: "figure" }, "信访 ", el("b", { "data-part": "cases" }, item.summary ? item.summary.cases : DASH), " 件"),
        el("span", { class: "figure" }, "超期 ", el("b", { "data-part": "overdue" }, overdue ?? DASH), " 件"),
        el("span", { class: "rank" }, `第 ${item.rank} 名`),
      );
      tile.addEventListener("click", () => {
        units.names.set(item.unit.id, `${item.unit.name}（${label(UNIT_LEVELS, item.unit.level)}）`);
        enterUnit(item.unit.id);
      });
      return tile;
    }),
  );
}

function renderVeto(answer, year) {
  $("veto-year").textContent = `${year} 年`;
  const list = $("veto");
  if (!answer) {
    list.replaceChildren(el("li", { class: "muted" }, DASH));
    return;
  }
  const vetoed = answer.units.filter((unit) => unit.vetoed);
  if (vetoed.length === 0) {
    list.replaceChildren(el("li", { class: "muted" }, "无"));
    return;
  }
  const counted = (unit) =>
    unit.counts
      .filter((c) => c.count > 0)
      .map((c) => `${label(LODGED_LEVELS, c.lodged_level)} ${c.count} 次`)
      .join("，");
  list.replaceChildren(
    ...vetoed.map((unit) =>
      el(
        "li",
        { class: "vetoed", "data-unit": unit.unit_id },
        el("b", {}, unit.name),
        ` 集体访：${counted(unit)}`,
      ),
    ),
  );
}

// Deadline kinds, their outcomes and roles, in Chinese, for the scores' drill-down.
const DEADLINE_KINDS = {
  arrival: "到位",
  transfer: "转送",
  disposition: "登记处置",
  acceptance_notice: "受理告知",
  objection: "异议",
  first_resolution: "初信初访办结",
  handling: "办理答复",
  review: "复查",
  re_review: "复核",
  report: "信息报送",
  national_report: "结案报告",
  follow_up: "回访",
  screening: "纠纷化解",
  screening_round: "周排查",
  field_visit: "带案下访",
  appointment: "约访",
  decision_assessment: "风险评估",
  owner_leader: "领导包案",
  supervision: "督办",
  onsite_settlement: "事要解决",
  notice_approval: "答复审签",
};
const DEADLINE_OUTCOMES = { missed: "超期", late: "逾期办理", met: "按时", open: "未到期" };
const ROLES = {
  chief: "主要领导",
  deputy: "分管领导",
  petition_staff: "信访干部",
  info_officer: "信息员",
  grid_worker: "网格员",
  dept_head: "部门负责人",
  unit: "单位",
};
const MISSING_PARTS = { plan: "化解方案", measures: "稳控措施" };
const CASE_EVENTS = { return_for_rehandling: "退回重办" };
// Which drill-downs are open (`table:unit`), kept across the re-renders of the polls.
const openScores = new Set();

const points = (n) => String(Number(n.toFixed(4)));

/** One recorded fact behind a deduction, in words. */
function factText(fact) {
  const number = fact.case_number ? ` ${fact.case_number}` : "";
  switch (fact.type) {
    case "deadline": {
      const role = fact.role ? `，${label(ROLES, fact.role)}` : "";
      return `${label(DEADLINE_KINDS, fact.kind)}时限${label(DEADLINE_OUTCOMES, fact.status)}（时限 ${shanghaiTime(fact.at)}${role}）${number}`;
    }
    case "case":
      return `集体访（${label(LODGED_LEVELS, fact.kind)}）${number}，${shanghaiTime(fact.at)}`;
    case "case_event":
      return `${label(CASE_EVENTS, fact.kind, "案件事项")}${number}，${shanghaiTime(fact.at)}`;
    case "screening_item":
      return `排查事项缺${label(MISSING_PARTS, fact.kind)}（${(fact.id || "").slice(0, 8)}，${shanghaiTime(fact.at)}登记）`;
    case "roster_day":
      return `接访日 ${shanghaiDay(new Date(fact.at))} 未排值班领导`;
    default:
      return `其他记录${number}，${shanghaiTime(fact.at)}`;
  }
}

function deductionItem(d) {
  const note = d.capped ? `（已达该项扣分上限${d.occurrences > 1 ? `，共 ${d.occurrences} 次` : ""}）` : "";
  return el(
    "li",
    { "data-rule": d.rule, "data-section": d.section },
    el("span", { class: "points", "data-part": "points" }, `-${points(d.points)}`),
    `${d.section} ${d.description}${note}`,
    el("ul", { class: "facts" }, ...d.facts.map((fact) => el("li", { "data-fact": fact.type }, factText(fact)))),
  );
}

function scoreTable(answer) {
  const meta = answer.tables.find((t) => t.key === answer.table) || { name: answer.table, maximum: "" };
  // the units with deductions, the lowest score first; the others keep their full marks
  const docked = answer.units.filter((u) => u.deductions.length > 0).reverse();
  const rows = docked.map((unit) => {
    const key = `${answer.table}:${unit.unit_id}`;
    const details = el(
      "details",
      { "data-unit": unit.unit_id, open: openScores.has(key) },
      el(
        "summary",
        {},
        el("b", {}, unit.name),
        ` ${label(UNIT_LEVELS, unit.level)} `,
        el("span", { class: "score", "data-part": "score" }, points(unit.score)),
        ` / ${points(unit.maximum)}，第 ${unit.rank} 名，扣分 ${unit.deductions.length} 项`,
      ),
      el("ul", { class: "deductions" }, ...unit.deductions.map(deductionItem)),
    );
    details.addEventListener("toggle", () => {
      if (details.open) openScores.add(key);
      else openScores.delete(key);
    });
    return details;
  });
  const rest = answer.units.length - docked.length;
  return el(
    "div",
    { class: "score-table", "data-table": answer.table },
    el("h3", {}, `${meta.name}（满分 ${meta.maximum}）`),
    ...(rows.length ? rows : [el("p", { class: "muted" }, "无扣分")]),
    rest && rows.length ? el("p", { class: "muted", "data-part": "full" }, `其余 ${rest} 个单位未扣分`) : "",
  );
}

function renderScores(answers, year) {
  $("scores-year").textContent = `${year} 年`;
  const box = $("scores");
  const shown = answers.filter((a) => a && a.units);
  if (shown.length === 0) {
    box.replaceChildren(el("p", { class: "muted" }, DASH));
    return;
  }
  box.replaceChildren(...shown.map(scoreTable));
}

function counted(answer) {
  return answer ? answer.items.length + (answer.next_cursor ? "+" : "") : DASH;
}

function renderEscalations(answer, unanswered) {
  const tbody = $("escalations").querySelector("tbody");
  $("kpi-escalations").textContent = counted(answer);
  $("kpi-unanswered").textContent = counted(unanswered);
  if (!answer) {
    tbody.replaceChildren(el("tr", {}, el("td", { colSpan: 5, class: "muted" }, DASH)));
    return;
  }
  if (answer.items.length === 0) {
    tbody.replaceChildren(el("tr", {}, el("td", { colSpan: 5, class: "muted" }, "无")));
    return;
  }
  tbody.replaceChildren(
    ...answer.items.map((e) =>
      el(
        "tr",
        { "data-escalation": e.id, class: UNANSWERED.has(e.reason) ? "unanswered" : "" },
        el("td", {}, `第 ${e.step + 1} 级`),
        el("td", {}, label(REASONS, e.reason)),
        el("td", { class: "mono" }, e.case_id ? e.case_id.slice(0, 8) : DASH),
        el("td", {}, shanghaiTime(e.created_at)),
        el("td", {}, elapsed(e.created_at)),
      ),
    ),
  );
}

// On-site reception duties (赴现场接待) not yet settled at home: who went in time, and the
// settlement's date. Only the officials' work is shown, nothing of the petitioners.
function renderOnsite(answer) {
  const tbody = $("onsite").querySelector("tbody");
  $("kpi-onsite").textContent = counted(answer);
  if (!answer) {
    tbody.replaceChildren(el("tr", {}, el("td", { colSpan: 4, class: "muted" }, DASH)));
    return;
  }
  if (answer.items.length === 0) {
    tbody.replaceChildren(el("tr", {}, el("td", { colSpan: 4, class: "muted" }, "无")));
    return;
  }
  tbody.replaceChildren(
    ...answer.items.map((d) => {
      const reached = d.goers.filter((g) => g.status === "met").length;
      const late = d.goers.some((g) => g.status === "missed") || d.settle_status === "missed";
      return el(
        "tr",
        { "data-onsite": d.id, class: late ? "unanswered" : "" },
        el("td", { class: "mono" }, d.case_number),
        el("td", {}, label(LODGED_LEVELS, d.level)),
        el("td", {}, `${reached} / ${d.goers.length}`),
        el("td", {}, d.settle_due_at ? shanghaiTime(d.settle_due_at) : DASH),
      );
    }),
  );
}

// The prevention answer's sections and figures, in Chinese; a figure not named here shows
// under its own key (a newer API than this page).
const PREVENTION_SECTIONS = {
  screening: "矛盾纠纷排查化解",
  sensitive: "敏感时期",
  reception: "领导接访",
  decisions: "重大决策风险评估",
  follow_up: "回访与领导批示",
};
const PREVENTION_FIGURES = {
  screening: {
    open_by_risk: "在办（按风险）",
    high_risk_open: "高风险在办",
    open_overdue: "超期未化解",
    screened: "排查登记",
    resolved: "已化解",
    converted: "转为信访事项",
    resolution_rate: "化解率",
    resolution_target: "化解率目标",
    meets_target: "达标",
    rounds_owed: "应周排查",
    rounds_filed: "已报周排查",
    rounds_missed: "漏报周排查",
  },
  sensitive: { period: "当前敏感时期", figures: "期间情况" },
  reception: {
    today_on_duty: "今日值班领导",
    duty_days_owed: "应接访日",
    duty_days_covered: "已排领导",
    duty_days_uncovered: "未排领导",
    appointments: "约访",
    field_visits: "带案下访",
    cases_carried: "下访带案",
    leaders_owing: "应下访领导",
    leaders_below_minimum: "本月下访未达标",
  },
  decisions: {
    assessed: "已评估",
    by_risk_level: "风险等级",
    decided: "已决策",
    by_conclusion: "评估结论",
    high_risk_undecided: "高风险待决策",
    drafts_past_planned_date: "逾期未评估",
    assessments_due: "应按时评估",
    assessments_late: "评估超期",
    linked_cases: "引发信访",
    linked_collective: "其中集体访",
  },
  follow_up: {
    owed: "应回访",
    on_time: "按时回访",
    missed: "超期未回访",
    open_overdue: "当前超期未回访",
    calls: "回访次数",
    reach_rate: "回访联系率",
    satisfaction: "回访满意率",
    instructed_cases: "领导批示案件",
  },
};
// Keys inside a figure (risk levels, statuses, conclusions).
const PREVENTION_PARTS = {
  high: "高",
  medium: "中",
  low: "低",
  total: "合计",
  scheduled: "待约见",
  held: "已接谈",
  cancelled: "已取消",
  missed: "超期未接谈",
  implement: "实施",
  implement_with_measures: "落实措施后实施",
  postpone: "暂缓",
  do_not_implement: "不实施",
};

// Figures that are shares (0.8), shown as percentages.
const SHARE_FIGURES = new Set(["resolution_target"]);

function figureValue(value, name = "") {
  if (value === null || value === undefined) return DASH;
  if (SHARE_FIGURES.has(name) && typeof value === "number") return percent(value);
  if (typeof value === "object" && "numerator" in value) {
    return `${formatRate(value)}（${value.numerator} / ${value.denominator}）`;
  }
  if (Array.isArray(value)) return String(value.length);
  if (typeof value === "object" && "starts_on" in value) {
    return `${value.name}（${value.starts_on} 至 ${value.ends_on}）`;
  }
  if (typeof value === "object") {
    return Object.entries(value)
      .map(([k, v]) => `${label(PREVENTION_PARTS, k)} ${figureValue(v)}`)
      .join("，");
  }
  if (typeof value === "boolean") return value ? "是" : "否";
  return String(value);
}

function renderPrevention(answer) {
  const box = $("prevention");
  if (!answer) {
    box.replaceChildren(el("p", { class: "muted" }, DASH));
    return;
  }
  const sections = Object.keys(PREVENTION_SECTIONS).filter((key) => key in answer);
  box.replaceChildren(
    ...sections.map((key) => {
      const figures = answer[key];
      const rows = figures
        ? Object.entries(figures).map(([name, value]) =>
            el(
              "tr",
              { "data-figure": `${key}.${name}` },
              el("th", {}, label(PREVENTION_FIGURES[key] || {}, name)),
              el("td", {}, figureValue(value, name)),
            ),
          )
        : [el("tr", {}, el("td", { class: "muted" }, "无"))];
      return el(
        "div",
        { class: "prevention-block", "data-section": key },
        el("h3", {}, PREVENTION_SECTIONS[key]),
        el("table", { class: "counts" }, el("tbody", {}, ...rows)),
      );
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// The poll loop: one round at a time, the next one POLL_SECONDS after the last ended.

let timer = null;
let renders = 0;
let round = 0; // a newer round (unit or period changed) makes an older one drop its answers

function setStatus(kind, text) {
  const status = $("status");
  status.dataset.kind = kind;
  status.textContent = text;
}

async function poll(force = false) {
  clearTimeout(timer);
  const mine = ++round;
  const unit = currentUnit();
  try {
    if (!unit) {
      setStatus("error", "未找到单位");
      return;
    }
    const { from, to } = period();
    const year = to.slice(0, 4);
    const q = `unit_id=${encodeURIComponent(unit)}&from=${from}&to=${to}`;
    const sq = `year=${year}&unit_id=${encodeURIComponent(unit)}`;
    const [summary, children, veto, escalations, prevention, unanswered, scores, onsite, unserved, unproved] = await Promise.all([
      getJson(`v1/stats/summary?${q}`),
      getJson(`v1/stats/units?${q}`),
      getJson(`v1/stats/veto?year=${year}`),
      getJson("v1/escalations?status=open&limit=50"),
      getJson(`v1/stats/prevention?${q}`),
      getJson("v1/escalations?status=open&unanswered=true&limit=50"),
      getJson(`v1/stats/scores?${sq}`),
      getJson("v1/reception/onsite-duties?open=true&limit=50"),
      getJson("v1/notices?lapse=unserved&limit=50"),
      getJson("v1/notices?lapse=unproved&limit=50"),
    ]);
    // each rule table on its own scale: the first comes by default, the others by name
    const tables = scores.ok ? scores.data.tables.filter((t) => t.key !== scores.data.table) : [];
    const otherScores = await Promise.all(
      tables.map((t) => getJson(`v1/stats/scores?${sq}&table=${encodeURIComponent(t.key)}`)),
    );
    if (mine !== round) return;
    const answers = [summary, children, veto, escalations, prevention, unanswered, scores, onsite, unserved, unproved, ...otherScores];
    if (force || answers.some((a) => a.changed)) {
      renderSummary(summary.data);
      renderUnits(children.data);
      renderVeto(veto.data, year);
      renderScores([scores, ...otherScores].map((a) => a.data), year);
      renderEscalations(escalations.data, unanswered.data);
      renderOnsite(onsite.data);
      $("kpi-notices").textContent = `${counted(unserved.data)} / ${counted(unproved.data)}`;
      judgeCounts();
      renderPrevention(prevention.data);
      renders += 1;
      document.body.dataset.renders = String(renders);
    }
    const missing = answers.filter((a) => !a.ok).length;
    setStatus(missing ? "partial" : "ok", missing ? `部分数据暂不可用（${missing}）` : "正常");
    $("updated").textContent = shanghaiTime(Date.now());
    document.body.dataset.state = "live";
  } catch (error) {
    if (error instanceof LoginRequired) {
      showLogin("登录已过期，请重新登录");
      return;
    }
    setStatus("error", "连接失败，稍后重试");
    console.warn("dashboard poll failed", error);
  }
  if (mine !== round) return;
  timer = setTimeout(poll, POLL_SECONDS * 1000);
}

// ---------------------------------------------------------------------------------------------
// Login and start.

function showLogin(message = "") {
  clearTimeout(timer);
  clearToken();
  cache.clear();
  categories.clear();
  policy = null;
  $("board").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  setStatus("idle", "未登录");
  document.body.dataset.state = "login";
}

async function start() {
  $("login").hidden = true;
  $("board").hidden = false;
  $("logout").hidden = false;
  document.body.dataset.state = "loading";
  try {
    await Promise.all([loadCategories(), loadPolicy()]);
    const unit = await startingUnit();
    units.stack = unit ? [unit] : [];
    if (unit) {
      await showUnit();
    } else {
      setStatus("error", "未找到单位");
    }
  } catch (error) {
    if (error instanceof LoginRequired) showLogin("令牌无效，请重新登录");
    else setStatus("error", "连接失败");
  }
}

async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  const body = new URLSearchParams({ username: $("username").value, password: $("password").value });
  let resp;
  try {
    resp = await fetch(new URL("v1/auth/token", API), { method: "POST", body, cache: "no-store" });
  } catch {
    $("login-error").textContent = "无法连接服务器";
    return;
  }
  if (resp.status === 429) {
    $("login-error").textContent = "尝试次数过多，请稍后再试";
    return;
  }
  if (!resp.ok) {
    $("login-error").textContent = "用户名或密码错误";
    return;
  }
  saveToken(await resp.json());
  $("password").value = "";
  await start();
}

async function useToken(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) return;
  saveToken({ access_token: token });
  $("token").value = "";
  await start();
}

function init() {
  if (params.get("from") || params.get("to")) {
    $("period").querySelector("option[value=custom]").hidden = false;
    $("period").value = "custom";
  }
  $("period").addEventListener("change", () => poll(true));
  $("unit-up").addEventListener("click", () => leaveUnit());
  $("logout").addEventListener("click", () => showLogin());
  $("login-form").addEventListener("submit", login);
  $("token-form").addEventListener("submit", useToken);
  window.addEventListener("resize", () => {
    perDayChart?.resize();
    channelChart?.resize();
  });
  takeFragmentToken();
  if (loadToken()) start();
  else showLogin();
}

init();
