"use strict";
(() => {
  const Accounts = window.TidemarkAccounts; // accounts.js: the session, sign-in and the administration pages
  const Entry = window.TidemarkEntry; // entry.js: the Entry pages (summative and statutory results)
  const $ = (id) => document.getElementById(id);

  // ---- vocabulary (the API serves labels for groups, not for measures or filter values) ----
  const GOALS = [
    ["E01", "Listening, attention and understanding"], ["E02", "Speaking"], ["E03", "Self-regulation"],
    ["E04", "Managing self"], ["E05", "Building relationships"], ["E06", "Gross motor skills"],
    ["E07", "Fine motor skills"], ["E08", "Comprehension"], ["E09", "Word reading"], ["E10", "Writing (ELG)"],
    ["E11", "Number"], ["E12", "Numerical patterns"], ["E13", "Past and present"],
    ["E14", "People, culture and communities"], ["E15", "The natural world"], ["E16", "Creating with materials"],
    ["E17", "Being imaginative and expressive"],
  ];
  const MEASURE_LABELS = {
    reading: "Reading", writing: "Writing", maths: "Mathematics", science: "Science", rwm: "Combined (RWM)",
    gld: "Combined (GLD)", all_goals: "Combined (All Goals)", gld_rwm: "Combined (GLD or RWM)",
    ...Object.fromEntries(GOALS.map(([code, label]) => [code, `${code} ${label}`])),
  };
  const measureLabel = (m) => MEASURE_LABELS[m] || m;
  const measureOptions = (list) => list.map((m) => [m, measureLabel(m)]);
  const PRIMARY_MEASURES = measureOptions(["reading", "writing", "maths", "rwm", "science"]);
  const EY_MEASURES = [...measureOptions(["gld", "all_goals"]),
    { group: "Early Learning Goals", options: measureOptions(GOALS.map(([code]) => code)) }];
  const DASHBOARD_MEASURES = measureOptions(["reading", "writing", "maths", "rwm", "science", "gld", "all_goals", "gld_rwm"]);
  const SERIES_MEASURES = measureOptions(["gld_rwm", "rwm", "reading", "writing", "maths", "gld"]);
  const GAP_SUBJECTS = measureOptions(["reading", "writing", "maths", "rwm", "gld_rwm"]);
  const GROUPINGS = [["school", "School"], ["year_group", "Year group"], ["sex", "Sex"], ["disadvantaged", "Disadvantaged"],
    ["sen", "SEN"], ["eal", "EAL"], ["ethnicity", "Ethnicity"], ["lac", "Looked after (LAC)"], ["class", "Class"]];
  const SERIES_GROUPINGS = [...GROUPINGS, ["subject", "Subject"]];
  const GAPS = [["sex", "Gender (Female − Male)"], ["disadvantaged", "Disadvantaged (Not disadvantaged − Disadvantaged)"]];
  const YEAR_GROUPS = [["R", "Reception"], ["Y1", "Year 1"], ["Y2", "Year 2"], ["Y3", "Year 3"], ["Y4", "Year 4"], ["Y5", "Year 5"], ["Y6", "Year 6"]];
  const YES_NO = [["true", "Yes"], ["false", "No"]];
  const CHARACTERISTICS = [["sex", "Sex"], ["disadvantaged", "Disadvantaged"], ["sen", "SEN"], ["eal", "EAL"], ["ethnicity", "Ethnicity"], ["lac", "Looked after"]];
  const TERMS = { AUT: "Autumn", SPR: "Spring", SUM: "Summer" };
  // ---- the page's one palette: charts, keys, swatches and table bars all take their colours from here
  // (app.css reads the ones it needs as custom properties, set by applyPalette) ----
  const COLOURS = {
    allPupils: "#e8780c", // All Pupils: an orange dashed line everywhere
    accent: "#0b6e79", // a group's bar
    // One line per group, in order (the legend names each line, and its button hides it).
    series: ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#d6338a", "#17a2b8", "#6c757d", "#a3a31a",
      "#393b79", "#637939", "#843c39", "#5254a3", "#0b6e79"],
    pair: ["#0072b2", "#cc79a7"], // the two groups a gap compares (Okabe-Ito blue and reddish purple)
    // Attainment from below to above ARE, one ordered, colour-blind-safe scale: oranges below ARE (darkest
    // furthest below), blues at and above (darker the higher). A model's codes take shades in their order.
    bands: {
      BELOW: ["#8a3b00", "#c05a00", "#e8862a", "#f5b46b"],
      AT: ["#c6dcef", "#94bfe2", "#5f9fd3"],
      ABOVE: ["#3479bb", "#1f5a99", "#123f72"],
    },
    // Levels of Progress Made (Okabe-Ito, with a pattern per track as in app.css, so colour is never alone).
    categories: {
      not_on_track_below: "#d55e00", not_on_track_at: "#e69f00", on_track_below: "#f0e442", on_track_at: "#56b4e9",
      on_track_above: "#0072b2", accelerated_at: "#009e73", accelerated_above: "#882255", not_categorised: "#d9d9d9",
    },
  };
  // The tracks' patterns on charts (the CSS draws the same on bars and swatches): Not on track hatched,
  // Accelerated dotted, On track plain.
  const TRACK_PATTERNS = { not_on_track: { shape: "/", fillmode: "overlay", fgcolor: "rgba(0, 0, 0, .38)", size: 6, solidity: 0.3 },
    accelerated: { shape: ".", fillmode: "overlay", fgcolor: "rgba(255, 255, 255, .85)", size: 6, solidity: 0.3 } };
  // Each code of a model (lowest first, each with its band) -> its colour: the band's shades spread over its codes,
  // so that the whole is ordered from the lowest code to the highest.
  function bandColours(codes) {
    const byBand = {};
    for (const c of codes) (byBand[String(c.band).toUpperCase()] ||= []).push(c.code);
    const colours = {};
    for (const [band, list] of Object.entries(byBand)) {
      const shades = COLOURS.bands[band] || ["#a7b4bb"];
      list.forEach((code, i) => {
        colours[code] = shades[list.length === 1 ? Math.round((shades.length - 1) / 2)
          : Math.round((i * (shades.length - 1)) / (list.length - 1))];
      });
    }
    return colours;
  }
  const SIMPLE_BANDS = [["below", "Below", "BELOW"], ["at", "At", "AT"], ["above", "Above", "ABOVE"]];
  const BAND_COLOURS = bandColours(SIMPLE_BANDS.map(([, , band]) => ({ code: band, band })));
  function applyPalette() {
    const root = document.documentElement.style;
    root.setProperty("--trust", COLOURS.allPupils);
    for (const [band, colour] of Object.entries(BAND_COLOURS)) root.setProperty(`--${band.toLowerCase()}`, colour);
    for (const [id, colour] of Object.entries(COLOURS.categories)) root.setProperty(`--cat-${id}`, colour);
  }

  // Statutory measures: the ids and labels of tidemark_schemas/statutory_measures.py MEASURES, by assessment.
  const STATUTORY_MEASURES = [
    { group: "Key Stage 2 (Year 6)", options: [
      ["ks2.reading", "KS2 reading"], ["ks2.writing", "KS2 writing"], ["ks2.maths", "KS2 mathematics"],
      ["ks2.rwm", "KS2 reading, writing and mathematics combined"], ["ks2.gps", "KS2 grammar, punctuation and spelling"],
      ["ks2.science", "KS2 science"], ["ks2.reading_ss", "KS2 reading average scaled score"],
      ["ks2.maths_ss", "KS2 mathematics average scaled score"], ["ks2.gps_ss", "KS2 GPS average scaled score"]] },
    { group: "Key Stage 1 (Year 2)", options: [
      ["ks1.reading", "KS1 reading"], ["ks1.writing", "KS1 writing"], ["ks1.maths", "KS1 mathematics"],
      ["ks1.rwm", "KS1 reading, writing and mathematics combined"], ["ks1.science", "KS1 science"]] },
    { group: "EYFS (Reception)", options: [
      ["eyfs.gld", "Good level of development"], ["eyfs.all_goals", "Expected in all 17 Early Learning Goals"],
      ["eyfs.goals", "Average number of Early Learning Goals at expected"]] },
    { group: "Phonics", options: [
      ["phonics.y1", "Phonics screening check, Year 1"], ["phonics.y2", "Phonics screening check retake, Year 2"],
      ["phonics.ks1", "Phonics standard met by the end of Year 2"]] },
    { group: "Multiplication tables check (Year 4)", options: [["mtc.score", "Multiplication tables check"]] },
  ];
  // Names on the dashboard's tiles, where the widget already says which assessment it is.
  const STATUTORY_SHORT = {
    "ks2.reading": "Reading", "ks2.writing": "Writing", "ks2.maths": "Mathematics", "ks2.rwm": "Combined (RWM)",
    "ks2.gps": "Grammar, punctuation and spelling", "ks2.science": "Science", "ks2.reading_ss": "Reading",
    "ks2.maths_ss": "Mathematics", "ks2.gps_ss": "Grammar, punctuation and spelling",
    "ks1.reading": "Reading", "ks1.writing": "Writing", "ks1.maths": "Mathematics", "ks1.rwm": "Combined (RWM)", "ks1.science": "Science",
    "eyfs.gld": "Good level of development", "eyfs.all_goals": "All 17 Early Learning Goals", "eyfs.goals": "Early Learning Goals at expected",
    "phonics.y1": "Year 1 check", "phonics.y2": "Year 2 retake", "phonics.ks1": "Met by the end of Year 2",
    "mtc.score": "Multiplication tables check",
  };
  const STATUTORY_WIDGETS = [
    ["ks2", "Key Stage 2", "Year 6"], ["ks1", "Key Stage 1", "Year 2"], ["eyfs", "EYFS", "Reception"],
    ["phonics", "Phonics", "Years 1 and 2"], ["mtc", "Multiplication Tables Check", "Year 4"],
  ];
  const COUNT_FIGURES = ["eligible", "pupils", "took"]; // shown, not compared with last year
  function figureLabel(measure, name) {
    const kind = measure.split(".")[0];
    switch (name) {
      case "eligible": return "Eligible";
      case "pupils": return measure === "eyfs.goals" ? "Pupils" : "Pupils with a scaled score";
      case "took": return "Took the check";
      case "exs_plus_pct": return measure.endsWith(".science") ? "Expected standard" : "Expected or Greater Depth";
      case "gds_pct": return ["ks2.reading", "ks2.maths", "ks2.gps"].includes(measure) ? "Greater Depth (110+)" : "Greater Depth";
      case "pct": return kind === "phonics" ? "Met the standard" : "Achieved";
      case "average": return measure === "mtc.score" ? "Average score (takers)"
        : measure === "eyfs.goals" ? "Average goals at expected" : "Average scaled score";
      case "full_marks_pct": return "Full marks (of all eligible)";
      default: return name;
    }
  }
  const isPctFigure = (name) => name === "pct" || name.endsWith("_pct");
  const figureText = (name, value) => (value === null || value === undefined ? nodata()
    : COUNT_FIGURES.includes(name) ? count(value) : isPctFigure(name) ? pct(value) : value.toFixed(1));
  // A DfE national figure as published (KS2, KS1, phonics and MTC % in whole numbers, EYFS to 1 dp).
  const nationalValue = (name, value) => (isPctFigure(name) ? `${Number.isInteger(value) ? value : value.toFixed(1)}%` : value.toFixed(1));
  const nationalTitle = (n) => `${n.source}, ${n.academic_year}${n.note ? ` (${n.note})` : ""}`;
  // "National 62% · 2024/25", its source on hover; "National: none published" when the DfE gives none.
  function nationalNode(name, national, prefix = "National") {
    const n = national && national[name];
    if (!n) return el("div", { className: "national none", textContent: `${prefix}: none published` });
    return el("div", { className: "national", title: nationalTitle(n) },
      `${prefix} ${nationalValue(name, n.value)}`, el("small", { textContent: ` · ${n.academic_year}` }));
  }

  // Progress From Statutory Assessment: [id, label] in display order, filled from /v1/progress-categories
  // at start (tidemark_schemas/progress.py is the one definition).
  const CATEGORIES = [];
  const LEVELS = [["all", "Every level"]]; // the selector's options: every level, then each category
  // A symbol per track, so that no reader depends on the colours (see the CSS).
  const trackSymbol = (id) => (id.startsWith("not_on_track") ? "▼" : id.startsWith("on_track") ? "▶"
    : id.startsWith("accelerated") ? "▲" : "○");
  const trackNode = (id) => el("span", { className: "track", ariaHidden: "true", textContent: trackSymbol(id) });
  const PROGRESS_TABS = [["school", "By School"], ["year_group", "Year Group"], ["sex", "Gender"],
    ["disadvantaged", "Disadvantaged"], ["sen", "SEN"]];
  const PUPILS_SHOWN_AT_ONCE = 500;

  const FILTERS = [
    { name: "school", label: "Schools", multi: true, options: () => state.schools.map((s) => [s.school_id, s.name]) },
    { name: "year_group", label: "Year groups", multi: true, options: () => YEAR_GROUPS },
    { name: "sex", label: "Sex", options: () => [["F", "Female"], ["M", "Male"]] },
    { name: "disadvantaged", label: "Disadvantaged", options: () => YES_NO },
    { name: "sen", label: "SEN", multi: true, options: () => [["N", "No SEN"], ["K", "SEN support"], ["E", "EHC plan"]] },
    { name: "eal", label: "EAL", options: () => YES_NO },
    { name: "ethnicity", label: "Ethnicity", multi: true, options: () => [["WHITE", "White"], ["MIXED", "Mixed"], ["ASIAN", "Asian"],
      ["BLACK", "Black"], ["OTHER", "Any other ethnic group"], ["UNCLASSIFIED", "Unclassified"]] },
    { name: "lac", label: "Looked after (LAC)", options: () => YES_NO },
    // The classes of the year shown (a pupil's class in that year), from /v1/classes.
    { name: "class", label: "Classes", multi: true, options: () => classOptions(state.year) },
  ];

  function classOptions(year) {
    const schoolName = new Map(state.schools.map((s) => [s.school_id, s.name]));
    const several = new Set(state.classes.map((c) => c.school_id)).size > 1;
    return state.classes.filter((c) => c.academic_year === year)
      .map((c) => [c.class_id, several ? `${schoolName.get(c.school_id) || c.school_id} · ${c.name}` : c.name]);
  }

  const state = {
    calendar: null, schools: [], classes: [], filtersYear: null, defaultYear: null, defaultPeriod: null, statutoryYear: null, chosen: false, year: null, period: null,
    filters: {}, view: null, params: {}, memory: {}, seq: 0, exported: null, hidden: new Set(), openSchools: new Map(), toggles: {},
    lastEventId: null, refreshTimer: null, following: false, shown: false, pupilsRefused: false,
    pupilList: { query: "", all: false }, sorts: new Map(),
  };

  // ---- the route: the URL fragment ----
  function parseHash(hash) {
    const text = hash.replace(/^#/, "");
    if (!text.startsWith("/")) return { path: "/", params: new URLSearchParams() };
    const q = text.indexOf("?");
    const path = (q < 0 ? text : text.slice(0, q)).replace(/\/+$/, "") || "/";
    return { path, params: new URLSearchParams(q < 0 ? "" : text.slice(q + 1)) };
  }

  // ---- the API ----
  class Unauthorised extends Error {}
  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  function describe(status, text) {
    let detail = text;
    try { detail = JSON.parse(text).detail ?? text; } catch { /* not JSON */ }
    if (Array.isArray(detail)) {
      detail = detail.map((d) => {
        const where = (d.loc || []).filter((part) => part !== "query" && part !== "body").join(" › ");
        const msg = String(d.msg || "").replace(/^Value error, /, "");
        return where ? `${where}: ${msg}` : msg;
      }).join("; ");
    } else if (detail && typeof detail === "object") {
      detail = JSON.stringify(detail);
    }
    detail = detail || `HTTP ${status}`;
    if (status === 422) return `This selection was not accepted: ${detail}.`;
    if (status === 403) return `Not allowed: ${detail}`;
    if (status === 503) return `The figures are unavailable right now (${detail}). The page will try again on the next update.`;
    return `The gateway answered ${status}: ${detail}`;
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      for (const item of [].concat(value)) if (item !== undefined && item !== null && item !== "") q.append(key, item);
    }
    return q.toString();
  }

  // `reference` calls take no filters: a 403 there means the caller's role reads no figures. The
  // session cookie goes with every request of this origin; a GET needs no CSRF token.
  async function api(path, params = {}, reference = false) {
    const qs = query(params);
    // The page's first report (or dashboard) is what its Download buttons export, with the same filters.
    if (!state.exported && /^\/v1\/(reports|dashboards)\//.test(path)) state.exported = { path, params };
    let response;
    try {
      response = await fetch(qs ? `${path}?${qs}` : path, { credentials: "same-origin" });
    } catch {
      throw new ApiError(0, "The gateway cannot be reached. Check that Tidemark is running; the page retries on the next update.");
    }
    if (response.status === 401 || (reference && response.status === 403)) throw new Unauthorised(await response.text());
    if (!response.ok) throw new ApiError(response.status, describe(response.status, await response.text()));
    return response.json();
  }

  // ---- small DOM helpers ----
  const el = (tag, props = {}, ...children) => {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
    return node;
  };
  const SVGNS = "http://www.w3.org/2000/svg";
  const svg = (tag, attrs = {}, ...children) => {
    const node = document.createElementNS(SVGNS, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    node.append(...children);
    return node;
  };
  const count = (n) => Number(n).toLocaleString("en-GB");
  const pct = (value) => `${value.toFixed(1)}%`;
  const nodata = (text = "no data") => el("span", { className: "nodata", textContent: text });
  const pctNode = (value) => (value === null || value === undefined ? nodata() : pct(value));
  const SMALL_GROUP_TITLE = "Small group: fewer pupils than the Trust's threshold, so one pupil moves the % a lot";
  const smallMark = () => el("span", { className: "small-group", title: SMALL_GROUP_TITLE, textContent: "small group" });
  // A group's % in a table: a small group's (a row or point with small_group) is followed by the marker.
  const groupPct = (row, value = row.pct) => (row.small_group ? [pctNode(value), smallMark()] : pctNode(value));
  const points = (value) => `${value > 0 ? "+" : ""}${value.toFixed(1)} pts`;
  const missing = (value) => value === null || value === undefined;
  // A change beside a figure: "~ 0" means no change, so a figure without data gets "no data" instead.
  // `unit` (" pts" for a change of a %) follows a number, not "~ 0" or "–".
  const changeText = (change, current, unit = "") => (missing(current) ? nodata()
    : `${change.direction === "up" ? "▲ " : change.direction === "down" ? "▼ " : ""}${change.display}${/\d$/.test(change.display) ? unit : ""}`);
  const labelOf = (options, value) => (options.flatMap((o) => (o.group ? o.options : [o])).find(([v]) => v === value) || [value, value])[1];
  const showError = (text) => { $("error").textContent = text; $("error").classList.toggle("hidden", !text); };
  const termName = (period) => {
    const match = /^([A-Z]+)(\d*)$/.exec(period);
    return match && TERMS[match[1]] ? `${TERMS[match[1]]}${match[2] ? ` ${match[2]}` : ""}` : period;
  };
  const shortYear = (year) => year.replace(/^\d\d(\d\d)\/(\d\d)$/, "$1/$2");
  const periodShort = (p) => `${p.period} ${shortYear(p.academic_year)}`;
  const periodLong = (p) => `${termName(p.period)} ${p.academic_year}`;
  const yearGroupName = (yg) => labelOf(YEAR_GROUPS, yg);

  function card(title, note, ...children) {
    const topics = state.view && HELP[state.view.path];
    const help = topics ? info(topics, typeof title === "string" ? title : "this card") : null;
    return el("section", {}, el("h3", {}, title, note ? el("span", { className: "note", textContent: note }) : null, help && help.button),
      help && help.panel, ...children);
  }
  function message(text, className = "", ...extra) {
    return el("div", { className: `message ${className}`, role: className.includes("error") ? "alert" : "status" }, text, ...extra);
  }
  function headRow(columns) {
    return el("tr", {}, columns.map((c) => {
      const [text, className = "", small = ""] = [].concat(c);
      return el("th", { scope: "col", className }, text, small ? el("small", { textContent: small }) : null);
    }));
  }
  const numCell = (content) => el("td", { className: "num" }, content);
  const rowHead = (text) => el("th", { scope: "row", textContent: text });

  // ---- sortable columns: each column header of a report table is a button that sorts its rows ----
  // The All Pupils row stays first, a cell with no figure sorts last either way, and aria-sort on the
  // header says the order. A table keeps its order through a live update (remembered by page and caption).
  // The columns of a header (rows with row and column spans): [th, first column] for each th over one column.
  function headerColumns(thead) {
    const taken = [];
    const out = [];
    [...thead.rows].forEach((tr, r) => {
      let column = 0;
      for (const th of tr.cells) {
        while (taken[r] && taken[r].has(column)) column += 1;
        for (let dr = 0; dr < th.rowSpan; dr += 1) {
          for (let dc = 0; dc < th.colSpan; dc += 1) (taken[r + dr] ||= new Set()).add(column + dc);
        }
        if (th.colSpan === 1) out.push([th, column]);
        column += th.colSpan;
      }
    });
    return out;
  }
  function cellAt(tr, column) {
    let at = 0;
    for (const cell of tr.cells) {
      if (column < at + cell.colSpan) return cell;
      at += cell.colSpan;
    }
    return null;
  }
  // A cell's sort key: a number for a numeric cell ("1,204", "75.0%", "+2.5 pts", "~ 0"), else its text; null when empty.
  function sortKey(cell) {
    if (!cell) return null;
    const text = cell.textContent.trim();
    if (!cell.classList.contains("num")) return text || null;
    const number = /^[+\-\u2212]?\d[\d,]*(\.\d+)?/.exec(text.replace(/^~\s*/, ""));
    return number ? Number(number[0].replace(/,/g, "").replace("\u2212", "-")) : null;
  }
  // Sorts keys (numbers or texts; null last, whichever the direction), stable.
  function compareKeys(a, b, descending) {
    if (a === null || b === null) return (a === null) - (b === null);
    const order = typeof a === "number" && typeof b === "number" ? a - b
      : String(a).localeCompare(String(b), "en-GB", { numeric: true, sensitivity: "base" });
    return descending ? -order : order;
  }
  function sortRows(table, column, descending) {
    const body = table.tBodies[0];
    const rows = [...body.rows];
    const pinned = rows.filter((r) => r.classList.contains("all"));
    const keyed = rows.filter((r) => !pinned.includes(r)).map((r, i) => [sortKey(cellAt(r, column)), i, r]);
    keyed.sort(([a, i], [b, j]) => compareKeys(a, b, descending) || i - j);
    body.replaceChildren(...pinned, ...keyed.map(([, , r]) => r));
  }
  // Makes a table's columns sortable; `sort(column, descending)` (default: its rows as they are) does the sorting.
  function sortable(table, sort = (column, descending) => sortRows(table, column, descending)) {
    if (!table.tHead || !table.tBodies.length || table.classList.contains("no-sort") || table.dataset.sortable) return;
    table.dataset.sortable = "true";
    const key = `${state.view ? state.view.path : ""}|${table.caption ? table.caption.textContent : ""}`;
    const first = table.tBodies[0].rows[0];
    const order = (th, column, descending) => {
      for (const other of table.tHead.querySelectorAll("th[aria-sort]")) other.removeAttribute("aria-sort");
      th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      state.sorts.set(key, { column, descending });
      sort(column, descending);
    };
    for (const [th, column] of headerColumns(table.tHead)) {
      const sample = first ? cellAt(first, column) : null;
      if (!th.textContent.trim() || (sample && sample.classList.contains("barcell"))) continue;
      const button = el("button", { type: "button", className: "sort" }, ...th.childNodes);
      button.insertBefore(el("span", { className: "sort-mark", ariaHidden: "true" }), button.querySelector("small"));
      th.replaceChildren(button);
      button.addEventListener("click", () => order(th, column, th.getAttribute("aria-sort") === "ascending"));
      const remembered = state.sorts.get(key);
      if (remembered && remembered.column === column) order(th, column, remembered.descending);
    }
  }

  // A list of pupils (the rows of a report's `pupils`): a search box over every column, sortable columns,
  // and the first PUPILS_SHOWN_AT_ONCE rows until "Show all". Searching, sorting and showing all work on
  // the list already loaded: none of them fetches it again. `columns`: [head, text(pupil), value(pupil)?]
  // (the value sorts, where the text would not: a number); a column whose head has class "num" is numeric.
  function pupilList(pupils, columns, caption) {
    const chosen = state.pupilList;
    const texts = new Map();
    const haystack = (u) => {
      if (!texts.has(u)) texts.set(u, columns.map(([, text]) => text(u)).join(" ").toLowerCase());
      return texts.get(u);
    };
    const numeric = columns.map(([head]) => [].concat(head)[1] === "num");
    const cellOf = (u, [, text], index) => {
      const value = text(u);
      if (index === 0) return rowHead(value);
      return numeric[index] ? numCell(value || nodata()) : el("td", { textContent: value });
    };
    const search = el("input", { type: "search", id: "pupil-search", value: chosen.query, autocomplete: "off",
      placeholder: "Pupil, school, year group, SEN ..." });
    const status = el("p", { className: "lede", role: "status" });
    const body = el("tbody");
    const table = el("table", { className: "pupil-list" }, el("caption", { className: "sr-only", textContent: caption }),
      el("thead", {}, headRow(columns.map(([head]) => head))), body);
    let sorted = { column: null, descending: false };
    function draw() {
      const words = chosen.query.toLowerCase().split(/\s+/).filter(Boolean);
      let found = words.length ? pupils.filter((u) => words.every((word) => haystack(u).includes(word))) : pupils;
      if (sorted.column !== null) {
        const [, text, value = text] = columns[sorted.column];
        const key = (u) => { const v = value(u); return v === null || v === undefined || v === "" ? null : v; };
        found = found.map((u, i) => [key(u), i, u]).sort(([a, i], [b, j]) => compareKeys(a, b, sorted.descending) || i - j)
          .map(([, , u]) => u);
      }
      const shown = chosen.all ? found : found.slice(0, PUPILS_SHOWN_AT_ONCE);
      body.replaceChildren(...shown.map((u) => el("tr", {}, columns.map((column, index) => cellOf(u, column, index)))));
      const more = found.length > shown.length
        ? el("button", { type: "button", className: "link", textContent: `Show all ${count(found.length)}` }) : null;
      if (more) more.addEventListener("click", () => { chosen.all = true; draw(); });
      status.replaceChildren(words.length ? `${count(found.length)} of ${count(pupils.length)} pupils match "${chosen.query.trim()}"` : "",
        found.length > shown.length ? `${words.length ? "; " : ""}the first ${count(shown.length)} are listed. ` : words.length ? "." : "",
        ...(more ? [more] : []));
      table.classList.toggle("hidden", !found.length);
    }
    search.addEventListener("input", () => { chosen.query = search.value; draw(); });
    sortable(table, (column, descending) => { sorted = { column, descending }; draw(); });
    draw();
    // A live update draws the page again: the search box keeps the keyboard if it had it.
    if (document.activeElement && document.activeElement.id === "pupil-search") queueMicrotask(() => search.focus());
    return [el("div", { className: "toolbar" }, el("label", { className: "search" }, "Search pupils", search)), status,
      el("div", { className: "scroll" }, table)];
  }

  function bar(value, average, national) {
    const outer = el("div", { className: "bar" });
    outer.setAttribute("aria-hidden", "true");
    if (value !== null && value !== undefined) {
      const fill = el("span");
      fill.style.width = `${value}%`;
      outer.append(fill);
    }
    if (average !== null && average !== undefined) {
      const line = el("i", { title: `All Pupils ${pct(average)}` });
      line.style.left = `${average}%`;
      outer.append(line);
    }
    if (national !== null && national !== undefined) {
      const line = el("b", { className: "national-line", title: `National ${national}%` });
      line.style.left = `${national}%`;
      outer.append(line);
    }
    return outer;
  }

  // A stacked bar over parts [{label, value (pct), count, className|color}]; nothing when there is no data.
  function stack(parts) {
    if (parts.every((p) => p.value === null || p.value === undefined)) return nodata();
    const outer = el("div", { className: "stack", role: "img",
      ariaLabel: parts.map((p) => `${p.label} ${p.value === null ? "no data" : pct(p.value)}`).join(", ") });
    for (const part of parts) {
      if (!part.value) continue;
      const span = el("span", { className: part.className || "", title: `${part.label}: ${pct(part.value)} (${count(part.count)})` });
      span.style.width = `${part.value}%`;
      if (part.color) span.style.background = part.color;
      outer.append(span);
    }
    return outer;
  }

  // ---- charts: plotly.js, the bundle the `plotly` Python package ships, served by the gateway like this
  // script (/static/plotly.min.js, named by its content's hash, cached for a year, gzipped). It is loaded
  // only once the page has drawn its figures and tables, and each chart is drawn when it arrives. Every
  // chart is a named figure: hover (or tap) a bar or point for its % and pupils, click it to open the
  // report for that group or period, "Download PNG" for a picture of it. The table beside each chart has
  // every figure, and its row names are links to the same reports, for the keyboard and screen readers.
  let chartLibrary = null;
  function loadChartLibrary() {
    chartLibrary ||= new Promise((resolve, reject) => {
      const script = el("script", { src: document.body.dataset.charts, async: true });
      script.addEventListener("load", () => (window.Plotly ? resolve(window.Plotly) : reject(new Error("no chart library"))));
      script.addEventListener("error", () => { chartLibrary = null; reject(new Error("the chart library could not be loaded")); });
      document.head.append(script);
    });
    return chartLibrary;
  }
  const CHART_FONT = { family: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif', size: 13, color: "#1d2733" };
  // No mode bar (Download PNG is our own button), no zooming or dragging: a chart reads, it is not a tool.
  const CHART_CONFIG = { displayModeBar: false, responsive: true, scrollZoom: false, doubleClick: false, showTips: false,
    showAxisDragHandles: false, displaylogo: false };
  const drawnPlots = new Set(); // purged once a redraw has replaced them
  // Text for plotly.js, which reads a little HTML: ours is escaped, and a new line becomes its <br>.
  const escapeText = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\n/g, "<br>");

  function drawChart(plot, status, spec) {
    loadChartLibrary().then(async (Plotly) => {
      for (const old of drawnPlots) if (!old.isConnected) { Plotly.purge(old); drawnPlots.delete(old); }
      if (!plot.isConnected) return;
      const phone = window.matchMedia("(max-width: 640px)").matches;
      const layout = { font: { ...CHART_FONT, size: phone ? 12 : 13 }, paper_bgcolor: "#fff", plot_bgcolor: "#fff",
        dragmode: false, showlegend: false, hovermode: "closest", hoverlabel: { font: CHART_FONT, align: "left" },
        margin: { l: 56, r: 16, t: 30, b: 64 }, ...spec.layout };
      await Plotly.newPlot(plot, spec.traces, layout, CHART_CONFIG);
      drawnPlots.add(plot);
      status.remove();
      plot.on("plotly_click", (event) => {
        const point = event.points && event.points[0];
        const href = point ? spec.href(point.curveNumber, point.pointNumber) : null;
        if (href) location.hash = href;
      });
    }).catch(() => { status.textContent = "The chart could not be drawn; the table has every figure."; });
  }

  // A chart as a named figure (its caption), with its Download PNG button. `spec`: {traces, layout, href(trace, point)}.
  let chartCount = 0;
  function chartFigure(title, description, spec, { height = 340 } = {}) {
    const id = `chart-${++chartCount}`;
    const plot = el("div", { className: "plot", role: "img", ariaLabel: description });
    plot.style.height = `${height}px`;
    const status = el("p", { className: "chart-status", textContent: "Drawing the chart…" });
    const png = el("button", { type: "button", className: "secondary small", textContent: "Download PNG", ariaLabel: `Download PNG: ${title}` });
    png.addEventListener("click", () => downloadPng(plot, title).catch(handle));
    const figure = el("figure", { className: "chart-figure" },
      el("div", { className: "chart-head" }, el("figcaption", { id, textContent: title }), png), status, plot);
    figure.setAttribute("aria-labelledby", id);
    drawChart(plot, status, spec);
    return figure;
  }

  // A PNG of the chart as drawn, with its title, at twice the pixels: plotly.js makes it an SVG (a data:
  // URL), which the page draws on a canvas (plotly's own PNG path loads a blob: URL as an image, which the
  // Content-Security-Policy refuses). Made in the browser: nothing is sent.
  async function downloadPng(plot, title) {
    const Plotly = await loadChartLibrary();
    const margin = plot.layout.margin || {};
    const width = Math.max(plot.clientWidth, 640);
    const height = plot.clientHeight + 36;
    const svgUrl = await Plotly.toImage({ data: plot.data, layout: { ...plot.layout, margin: { ...margin, t: (margin.t || 0) + 36 },
      title: { text: escapeText(title), x: 0.01, xanchor: "left", font: { ...CHART_FONT, size: 16 } } } },
    { format: "svg", width, height });
    const image = new Image();
    await new Promise((resolve, reject) => {
      image.addEventListener("load", resolve);
      image.addEventListener("error", () => reject(new Error("The chart could not be made into a picture.")));
      image.src = svgUrl;
    });
    const canvas = el("canvas", { width: width * 2, height: height * 2 });
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    const png = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    saveFile(png, `${title.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "").toLowerCase() || "chart"}.png`);
  }

  // The value axis of a line chart (%): the figures' range with at least 5 points of room either side, at
  // least 20 points tall, out to whole tens, within 0-100%. A Trust's lines sit in 40-75%: the axis is
  // 30-80%, not 0-100% with the lines squeezed together.
  function fittedRange(values) {
    const known = values.filter((v) => !missing(v));
    if (!known.length) return [0, 100];
    let low = Math.min(...known) - 5;
    let high = Math.max(...known) + 5;
    if (high - low < 20) { const middle = (low + high) / 2; low = middle - 10; high = middle + 10; }
    low = Math.max(0, Math.floor(low / 10) * 10);
    high = Math.min(100, Math.ceil(high / 10) * 10);
    return [low, high];
  }
  // A bar's length is its value, so bars start at 0%; the axis ends at the next ten above the longest bar.
  const barRange = (values) => [0, Math.min(100, Math.ceil((Math.max(0, ...values.filter((v) => !missing(v))) + 5) / 10) * 10)];

  // Which periods to show, [from, to): from the first where any series has a figure to the last (the rest of
  // the year has not happened yet). A period without data between two with data stays, as a gap in the lines.
  function dataSpan(seriesList) {
    let from = Infinity;
    let to = 0;
    for (const values of seriesList) {
      values.forEach((v, i) => { if (v && !missing(v.pct)) { from = Math.min(from, i); to = Math.max(to, i + 1); } });
    }
    return to ? [from, to] : [0, Math.min(1, seriesList[0]?.length ?? 0)];
  }

  // The line chart: one line per group, All Pupils orange dashed (drawn on top); the academic years marked.
  // `lines`: [{key, label, color, dashed, values: [{pct, n?, at_or_above?}], hover(value, period), href(index)}].
  function lineChartFigure(periods, lines, { title, description, height = 340 }) {
    const [from, to] = dataSpan(lines.map((l) => l.values));
    const used = periods.slice(from, to);
    const x = used.map(periodShort);
    const ordered = [...lines.filter((l) => !l.dashed), ...lines.filter((l) => l.dashed)];
    const traces = ordered.map((line) => ({
      type: "scatter", mode: "lines+markers", name: escapeText(line.label), x, connectgaps: false,
      y: line.values.slice(from, to).map((v) => (v && !missing(v.pct) ? v.pct : null)),
      text: line.values.slice(from, to).map((v, i) => escapeText((line.hover || lineHover)(line, v || {}, used[i]))),
      hovertemplate: "%{text}<extra></extra>", visible: !state.hidden.has(line.key),
      line: { color: line.color, width: line.dashed ? 3 : 2, dash: line.dashed ? "dash" : "solid" },
      marker: { color: line.color, size: line.dashed ? 8 : 7 },
    }));
    const shapes = [];
    const annotations = [];
    let start = 0;
    used.forEach((p, i) => {
      if (i > 0 && used[i - 1].academic_year !== p.academic_year) {
        shapes.push({ type: "line", xref: "x", yref: "paper", x0: i - 0.5, x1: i - 0.5, y0: 0, y1: 1.06, line: { color: "#c9d2dc", width: 1, dash: "dot" } });
      }
      if (i === used.length - 1 || used[i + 1].academic_year !== p.academic_year) {
        annotations.push({ xref: "x", yref: "paper", x: (start + i) / 2, y: 1.02, yanchor: "bottom", showarrow: false,
          text: p.academic_year, font: { ...CHART_FONT, size: 12 } });
        start = i + 1;
      }
    });
    const range = fittedRange(ordered.flatMap((l) => l.values.slice(from, to).map((v) => v && v.pct)));
    const spec = {
      // `href(index)` of a line: its index in `periods`, as given.
      traces, href: (trace, point) => (ordered[trace].href ? ordered[trace].href(from + point) : null),
      layout: { shapes, annotations, xaxis: { type: "category", tickangle: used.length > 6 ? -40 : 0, fixedrange: true, showgrid: false },
        yaxis: { range, ticksuffix: "%", fixedrange: true, gridcolor: "#e3e8ee", zeroline: false, dtick: range[1] - range[0] > 50 ? 20 : 10 } },
    };
    const figure = chartFigure(title, description, spec, { height });
    return { figure, traces: ordered };
  }
  const lineHover = (line, v, period) => (missing(v.pct) ? `${line.label} · ${periodLong(period)}: no data`
    : `${line.label} · ${periodLong(period)}\n${pct(v.pct)} at or above${missing(v.n) ? ""
      : ` · ${missing(v.at_or_above) ? "" : `${count(v.at_or_above)} of `}${count(v.n)} pupils`}${v.small_group ? " (small group)" : ""}`);

  // The lines' key: a button per line shows or hides it (keyboard and screen readers included).
  function legend(traces, lines, figure) {
    return el("ul", { className: "legend", ariaLabel: "Lines on the chart" }, lines.map((line) => {
      const sample = el("span", { className: `sample${line.dashed ? " dashed" : ""}`, ariaHidden: "true" });
      sample.style.setProperty("--swatch", line.color);
      const button = el("button", { type: "button" }, sample, line.label);
      button.setAttribute("aria-pressed", String(!state.hidden.has(line.key)));
      button.addEventListener("click", () => {
        const off = !state.hidden.has(line.key);
        if (off) state.hidden.add(line.key); else state.hidden.delete(line.key);
        button.setAttribute("aria-pressed", String(!off));
        const plot = figure.querySelector(".plot");
        if (window.Plotly && drawnPlots.has(plot)) window.Plotly.restyle(plot, { visible: !off }, [traces.indexOf(line)]);
      });
      return el("li", {}, button);
    }));
  }

  function chartWithLegend(periods, lines, options) {
    const { figure, traces } = lineChartFigure(periods, lines, options);
    return [el("p", { className: "legend-hint", textContent: "Select a name to show or hide its line. Hover a point for its figure; click it to open that period's report." }),
      legend(traces, lines, figure), figure];
  }

  // Bars, one per group (All Pupils first, in orange, and as a dashed line across the others).
  // `rows`: [{label, value, hover, href?, small_group?}].
  function barChartFigure(rows, { title, description }) {
    const average = rows[0] && rows[0].value;
    const range = barRange(rows.map((r) => r.value));
    const spec = {
      traces: [{ type: "bar", orientation: "h", y: rows.map((r) => escapeText(r.label)), x: rows.map((r) => (missing(r.value) ? null : r.value)),
        text: rows.map((r) => escapeText(r.hover)), hovertemplate: "%{text}<extra></extra>", textposition: "none",
        marker: { color: rows.map((r, i) => (i === 0 ? COLOURS.allPupils : COLOURS.accent)), opacity: rows.map((r) => (r.small_group ? 0.45 : 1)) } }],
      href: (trace, point) => (rows[point].href || null),
      layout: { margin: { l: 8, r: 16, t: 8, b: 36 }, bargap: 0.25,
        xaxis: { range, ticksuffix: "%", fixedrange: true, gridcolor: "#e3e8ee", zeroline: false },
        yaxis: { autorange: "reversed", automargin: true, fixedrange: true, type: "category" },
        shapes: missing(average) ? [] : [{ type: "line", xref: "x", yref: "paper", x0: average, x1: average, y0: 0, y1: 1,
          line: { color: COLOURS.allPupils, width: 2, dash: "dash" } }] },
    };
    return chartFigure(title, description, spec, { height: 56 + 28 * rows.length });
  }

  // Stacked bars, one per group, 0-100% of its pupils. `parts`: [{label, color}]; `rows`: [{label, href?,
  // parts: [{value (pct), count}]}] in the parts' order.
  function stackedChartFigure(rows, parts, { title, description }) {
    const spec = {
      traces: parts.map((part, k) => ({ type: "bar", orientation: "h", name: escapeText(part.label),
        y: rows.map((r) => escapeText(r.label)), x: rows.map((r) => r.parts[k].value ?? null), textposition: "none",
        text: rows.map((r) => escapeText(`${r.label} · ${part.label}\n${missing(r.parts[k].value) ? "no data"
          : `${pct(r.parts[k].value)} · ${count(r.parts[k].count)} pupil${r.parts[k].count === 1 ? "" : "s"}`}`)),
        hovertemplate: "%{text}<extra></extra>",
        marker: { color: part.color, line: { color: "#fff", width: 1 }, ...(part.pattern ? { pattern: part.pattern } : {}) } })),
      href: (trace, point) => (rows[point].href || null),
      layout: { barmode: "stack", margin: { l: 8, r: 16, t: 8, b: 36 }, bargap: 0.25,
        xaxis: { range: [0, 100], ticksuffix: "%", fixedrange: true, gridcolor: "#e3e8ee", zeroline: false },
        yaxis: { autorange: "reversed", automargin: true, fixedrange: true, type: "category" } },
    };
    return chartFigure(title, description, spec, { height: 56 + 28 * rows.length });
  }

  // ---- drill-down: the report for one group or period (charts' clicks and tables' row names) ----
  // A group's report: the same report, filtered to the group and grouped one level down (a school by year
  // group, any other group by school). Null for All Pupils, and for a grouping no filter has (subjects).
  const FILTER_VALUES = { disadvantaged: { disadvantaged: "true", not_disadvantaged: "false" },
    eal: { eal: "true", not_eal: "false" }, lac: { lac: "true", not_lac: "false" } };
  function groupHref(path, params, by, group, global = {}) {
    const filter = FILTERS.find((f) => f.name === by);
    if (!filter || !group || group === "all") return null;
    const value = (FILTER_VALUES[by] && FILTER_VALUES[by][group]) || group;
    const filters = { ...state.filters, [by]: filter.multi ? [value] : value };
    return hashFor(path, { ...params, by: by === "school" ? "year_group" : "school" }, { ...global, filters });
  }
  // Where a measure's figures for one period are: Primary or Early Years Subjects, or the Summative
  // Dashboard for "GLD or RWM" (which is reported only there).
  function measureReport(measure) {
    if (measure === "gld_rwm") return ["/", { measure }];
    const early = ["gld", "all_goals"].includes(measure) || /^E\d\d$/.test(measure);
    return [early ? "/reports/early-years-subjects" : "/reports/primary-subjects", { measure }];
  }
  const atPeriod = (p) => ({ year: p.academic_year, period: p.period });
  // A table's row name: a link to the group's report where there is one.
  const rowLink = (label, href) => (href ? el("th", { scope: "row" }, el("a", { href, textContent: label })) : rowHead(label));

  // ---- help: the glossary, and an info button on each widget and report card ----
  // Each entry: [id, term, explanation]. The progress categories' labels come from /v1/progress-categories.
  const GLOSSARY = [
    ["are", "ARE (Age Related Expectations)", "What a pupil is expected to know by this point of their year group. "
      + "Each locked teacher assessment puts a pupil Below, At or Above; \"% at or above\" is At and Above over every pupil with a locked result. "
      + "Charts and keys show Below in orange, At in light blue and Above in dark blue (a school's own codes in shades of these, lowest first)."],
    ["gld", "GLD (Good Level of Development)", "A Reception child at the expected level in all 12 prime and specific Early Learning Goals "
      + "(communication and language, personal, social and emotional development, physical development, literacy, mathematics)."],
    ["rwm", "RWM (reading, writing and mathematics combined)", "A pupil counts only when at or above in all three. At KS2: a scaled score "
      + "of 100 or more in reading and in maths and EXS or GDS in writing. \"GLD or RWM\" counts Reception by GLD and Years 1-6 by RWM."],
    ["pooled", "All Pupils (pooled)", "Every pupil in the current filters counted together: pupils are added across schools, never an average "
      + "of school percentages, so a large school weighs more than a small one. Shown first in tables and as the orange dashed line."],
    ["change", "Change since", "This figure less the same figure for the previous assessment period (on the statutory pages, the previous "
      + "academic year), in percentage points. \"~ 0\" rounds to 0.0; \"–\" means there is no earlier figure to compare with."],
    ["pts", "pts (percentage points)", "The difference between two percentages: 60% against 50% is +10 pts (not 20%). Changes and gaps are in pts."],
    ["gap", "Gap (Diminishing the Difference)", "One group's % less another's (Female − Male; Not disadvantaged − Disadvantaged). "
      + "Widening (red) when its size grew, whichever way it points; narrowing (green) when it shrank."],
    ["small", "Small group", "A group with fewer pupils than the Trust's threshold (5 unless the Trust sets another): one pupil moves its % by "
      + "20 points or more, so it shows the count and a \"small group\" marker, and analysts do not see its %."],
    ["national", "National (DfE, England)", "The Department for Education's published figure for all pupils in England (or the row's group, "
      + "where published), for the same academic year once published, else the latest year before it; the year is always shown."],
    ["expected", "Expected standard, greater depth, higher standard", "KS2 tests: a scaled score of 100 is the expected standard, 110 or more "
      + "the higher standard. Writing and KS1 are teacher assessments: EXS is expected, GDS greater depth. Phonics: a mark of 32 or more of 40."],
    ["eligibility", "Who is counted (eligibility)", "Attainment figures count pupils with a locked result in the period, grouped by their "
      + "current characteristics. Statutory figures count eligible pupils: those absent, working below the test or disapplied stay in "
      + "and count as not met; pupils who left before 1 July of the year (L), and F or P codes, are not counted. EYFS children coded A are "
      + "left out. The multiplication tables check's average is over pupils who took it; % full marks is over every eligible pupil."],
    ["progress", "Levels of Progress Made", "Where a Year 1-6 pupil started (GLD for Years 1-2, KS1 combined teacher assessment for Years 3-6) "
      + "against this period's combined RWM band. Pupils with a band but no prior result are Not categorised and in no %."],
    ["completion", "Data completion: missing and leavers", "On roll is today's roll. Missing: pupils on roll without an entry. Leavers: "
      + "entries beyond today's roll, from pupils who have left since; they are not missing and do not make a year group incomplete."],
    ["attendance", "Attendance, absence and persistent absence", "Attendance is sessions present or in approved activity over possible "
      + "sessions (two a day). A pupil is persistently absent when they miss 10% or more of their own possible sessions, severely absent at 50% or more."],
  ];
  const CATEGORY_HELP = {
    not_on_track_below: "started at the expected standard or above, now below ARE",
    not_on_track_at: "started at greater depth, now only at ARE",
    on_track_below: "started below the expected standard, still below ARE",
    on_track_at: "started at the expected standard, now at ARE",
    on_track_above: "started at the expected standard or above, now above ARE",
    accelerated_at: "started below the expected standard, now at ARE",
    accelerated_above: "started below the expected standard, now above ARE",
    not_categorised: "has a band this period but no prior statutory result; in no %",
  };
  const glossaryEntry = (id) => GLOSSARY.find(([key]) => key === id);
  function glossaryList(ids) {
    const items = [];
    for (const id of ids) {
      const entry = glossaryEntry(id);
      if (!entry) continue;
      items.push(el("dt", { textContent: entry[1] }), el("dd", { textContent: entry[2] }));
      if (id === "progress") {
        items.push(el("dd", {}, el("ul", { className: "plain" }, CATEGORIES.map(([value, label]) =>
          el("li", {}, categoryName(value, label), `: ${CATEGORY_HELP[value] || ""}`)))));
      }
    }
    return el("dl", { className: "glossary" }, items);
  }
  // An info button (aria-expanded; Escape closes) with its panel, placed after the heading it sits in.
  let infoCount = 0;
  function info(ids, what) {
    const id = `info-${++infoCount}`;
    const button = el("button", { type: "button", className: "info", ariaLabel: `About ${what}`, title: `About ${what}`, textContent: "i" });
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", id);
    const close = el("button", { type: "button", className: "link", textContent: "Close" });
    const panel = el("div", { id, className: "info-panel hidden", role: "note", ariaLabel: `About ${what}` });
    const toggle = (open) => {
      // Filled on opening: the progress categories arrive from the API after the page starts.
      if (open) panel.replaceChildren(glossaryList(ids), el("p", { className: "row-gap" }, el("a", { href: "#/help", textContent: "Full glossary" }), close));
      button.setAttribute("aria-expanded", String(open));
      panel.classList.toggle("hidden", !open);
    };
    button.addEventListener("click", () => toggle(button.getAttribute("aria-expanded") !== "true"));
    close.addEventListener("click", () => { toggle(false); button.focus(); });
    return { button, panel };
  }
  // The help topics of each page's cards (the dashboard's sections carry data-help in index.html).
  const HELP = {
    "/dashboards/statutory": ["expected", "national", "change", "pts", "eligibility"],
    "/reports/primary-subjects": ["are", "rwm", "pooled", "change", "small"],
    "/reports/early-years-subjects": ["gld", "are", "pooled", "small"],
    "/reports/primary-attainment-overview": ["are", "rwm", "pooled", "small"],
    "/reports/early-years-attainment-overview": ["gld", "are", "pooled", "small"],
    "/reports/pupil-overview": ["are", "pooled", "eligibility"],
    "/reports/progress-over-time": ["are", "rwm", "gld", "pooled", "pts"],
    "/reports/diminishing-the-difference": ["gap", "pts", "rwm", "pooled"],
    "/reports/data-completion": ["completion"],
    "/reports/statutory": ["expected", "national", "pooled", "change", "pts", "eligibility", "small"],
    "/reports/progress-from-statutory": ["progress", "pooled", "small"],
    "/dashboards/attendance": ["attendance", "pooled", "pts", "national"],
    "/reports/attendance": ["attendance", "pooled", "national", "small"],
    "/reports/attendance-codes": ["attendance", "pooled", "national"],
    "/reports/attendance-trend": ["attendance", "pooled", "pts"],
    "/reports/attendance-attainment": ["attendance", "are", "rwm", "pooled", "small"],
    "/board-pack": ["are", "rwm", "gld", "pooled", "small"],
  };

  function renderGlossary() {
    return [card("Glossary", "what the figures and words on these pages mean",
      glossaryList(GLOSSARY.map(([id]) => id)))];
  }

  // ---- the board pack: one PDF of the chosen dashboards and reports, made by the gateway ----
  // The sections of GET /v1/board-pack (its `sections` parameter), in the order the PDF prints them.
  const PACK_SECTIONS = [["summative", "Summative Dashboard"], ["attainment", "Primary Subjects: Combined RWM by school"],
    ["progress", "Progress Over Time"], ["gaps", "Diminishing the Difference (Disadvantaged)"],
    ["statutory", "Statutory Dashboard"], ["attendance", "Attendance by school"]];

  function renderBoardPack() {
    const boxes = PACK_SECTIONS.map(([value, label]) =>
      el("label", { className: "check" }, el("input", { type: "checkbox", name: "section", value, checked: true }), ` ${label}`));
    const status = el("p", { className: "note", role: "status" });
    const button = el("button", { type: "submit", textContent: "Download board pack (PDF)" });
    const form = el("form", { className: "stack", id: "board-pack-form" },
      el("fieldset", { className: "segmented" }, el("legend", { textContent: "Sections" }), ...boxes), el("div", { className: "row-gap" }, button), status);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const sections = boxes.map((box) => box.querySelector("input")).filter((box) => box.checked).map((box) => box.value);
      if (!sections.length) { status.textContent = "Choose at least one section."; return; }
      button.disabled = true;
      status.textContent = "Making the board pack…";
      try {
        await downloadPack({ ...periodQuery(), ...filterQuery(), sections: sections.join(",") });
        status.textContent = "Downloaded.";
      } catch (error) {
        status.textContent = "";
        handle(error);
      } finally {
        button.disabled = false;
      }
    });
    return [card("Board pack", `${state.year} ${state.period}, with the filters above`,
      el("p", { textContent: "One PDF of the chosen dashboards and reports for this period: charts and every figure, "
        + "with the Trust's name, the period, the filters and when the figures were last updated on each page." }), form)];
  }

  // The session cookie goes with the request (as every API call's); the gateway names the file.
  async function downloadPack(params) {
    const response = await fetch(`/v1/board-pack?${query(params)}`, { credentials: "same-origin" });
    if (response.status === 401) throw new Unauthorised(await response.text());
    if (!response.ok) throw new ApiError(response.status, describe(response.status, await response.text()));
    const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    saveFile(await response.blob(), name ? name[1] : "board-pack.pdf");
  }

  // Saves a file made or fetched by the page (a link to it, clicked once).
  function saveFile(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // ---- routing: #/reports/<name>?<view options>&academic_year=&period=&<filters> ----
  const ATTENDANCE_WINDOWS = [["ytd", "Year to date"], ["AUT1", "Autumn 1"], ["AUT2", "Autumn 2"], ["SPR1", "Spring 1"],
    ["SPR2", "Spring 2"], ["SUM1", "Summer 1"], ["SUM2", "Summer 2"], ["AUT", "Autumn"], ["SPR", "Spring"], ["SUM", "Summer"]];
  const ATTENDANCE_COHORTS = [["", "Years 1-6"], ["with", "Reception and Years 1-6"]];
  const windowQuery = (p) => (p.window && p.window !== "ytd" ? { period: p.window } : {});
  const cohortQuery = (p) => (p.reception === "with" ? { include_reception: "true" } : {});
  const select = (label, options, fallback) => ({ type: "select", label, options, default: fallback });
  const valuesOf = (options) => options.flatMap((o) => (o.group ? o.options : [o])).map(([v]) => v);
  const periodQuery = () => ({ academic_year: state.year, period: state.period });
  const filterQuery = (schoolOnly = false) => (schoolOnly ? { school: state.filters.school }
    : Object.fromEntries(FILTERS.map((f) => [f.name, state.filters[f.name]])));

  const VIEWS = [
    { path: "/", nav: "Summative Dashboard", section: "Dashboards", period: true,
      params: { measure: { type: "static", options: DASHBOARD_MEASURES, default: "reading" } },
      load: (p) => Promise.all([api("/v1/dashboards/summative", { ...periodQuery(), ...filterQuery() }),
        api("/v1/reports/attainment", { ...periodQuery(), measure: p.measure, by: "school", ...filterQuery() })]),
      render: renderDashboard, updated: ([dashboard]) => dashboard.last_updated },
    { path: "/dashboards/statutory", nav: "Statutory Dashboard", section: "Dashboards", period: false, yearOnly: true,
      params: {},
      load: () => api("/v1/dashboards/statutory", { academic_year: state.year, ...filterQuery() }),
      render: renderStatutoryDashboard },
    { path: "/reports/primary-subjects", nav: "Primary Subjects", section: "Attainment", period: true,
      params: { measure: select("Measure", PRIMARY_MEASURES, "reading"), by: select("View options: group by", GROUPINGS, "school") },
      load: (p) => api("/v1/reports/attainment", { measure: p.measure, by: p.by, ...periodQuery(), ...filterQuery() }),
      render: renderAttainment },
    { path: "/reports/early-years-subjects", nav: "Early Years Subjects", section: "Attainment", period: true,
      params: { measure: select("Measure", EY_MEASURES, "gld"), by: select("View options: group by", GROUPINGS, "school") },
      load: (p) => api("/v1/reports/attainment", { measure: p.measure, by: p.by, ...periodQuery(), ...filterQuery() }),
      render: renderAttainment },
    { path: "/reports/primary-attainment-overview", nav: "Primary Attainment Overview", section: "Attainment", period: true,
      params: { measure: select("Measure", PRIMARY_MEASURES, "reading"), by: select("View options: group by", GROUPINGS, "school"),
        view: { type: "toggle", label: "View", options: [["simple", "Simple"], ["school", "School view"]], default: "simple" } },
      load: (p) => api("/v1/reports/attainment-overview", { measure: p.measure, by: p.by, view: p.view, ...periodQuery(), ...filterQuery() }),
      render: renderOverview },
    { path: "/reports/early-years-attainment-overview", nav: "Early Years Attainment Overview", section: "Attainment", period: true,
      params: { measure: select("Measure", EY_MEASURES, "gld"), by: select("View options: group by", GROUPINGS, "school"),
        view: { type: "toggle", label: "View", options: [["simple", "Simple"], ["school", "School view"]], default: "simple" } },
      load: (p) => api("/v1/reports/attainment-overview", { measure: p.measure, by: p.by, view: p.view, ...periodQuery(), ...filterQuery() }),
      render: renderOverview },
    { path: "/reports/pupil-overview", nav: "Pupil Overview", section: "Pupils", period: true,
      params: { by: select("View options: group by", GROUPINGS, "school"),
        show: select("Show", [["count", "Pupil counts"], ["pct", "% of the group's pupils"]], "count") },
      load: (p) => api("/v1/reports/pupil-overview", { by: p.by, ...periodQuery(), ...filterQuery() }),
      render: renderPupilOverview },
    { path: "/reports/progress-over-time", nav: "Progress Over Time", section: "Trends", period: false,
      params: { by: select("View options: group by", SERIES_GROUPINGS, "school"), measure: select("Measure", SERIES_MEASURES, "gld_rwm") },
      load: (p) => api("/v1/reports/progress-over-time", { by: p.by, measure: p.measure, academic_year: state.year, ...filterQuery() }),
      render: renderProgress },
    { path: "/reports/diminishing-the-difference", nav: "Diminishing the Difference", section: "Trends", period: false,
      params: { gap: select("Gap", GAPS, "sex"), subject: select("Subject", GAP_SUBJECTS, "rwm") },
      load: (p) => api("/v1/reports/gaps", { gap: p.gap, subject: p.subject, academic_year: state.year, ...filterQuery() }),
      render: renderGaps },
    { path: "/reports/data-completion", nav: "Data Completion", section: "Data", period: true, schoolOnly: true,
      params: { show: select("Show", [["all", "Every year group and subject"], ["incomplete", "Incomplete only"]], "all") },
      load: () => api("/v1/reports/data-completion", { ...periodQuery(), ...filterQuery(true) }),
      render: renderCompletion },
    { path: "/reports/statutory", nav: "Statutory Results", section: "Statutory", period: false, yearOnly: true,
      params: { measure: select("Measure", STATUTORY_MEASURES, "ks2.rwm"), by: select("View options: group by", GROUPINGS, "school") },
      load: (p) => api("/v1/reports/statutory", { measure: p.measure, academic_year: state.year, by: p.by, ...filterQuery() }),
      render: renderStatutory },
    { path: "/reports/progress-from-statutory", nav: "Progress From Statutory Assessment", section: "Statutory", period: true,
      params: { category: select("Level of Progress Made", LEVELS, "all"),
        by: { type: "tabs", label: "Drill down", options: PROGRESS_TABS, default: "school" },
        pupils: { type: "flag", options: [["show", "show"]], default: "" } },
      load: loadProgressFromStatutory, render: renderProgressFromStatutory, updated: (data) => data.report.last_updated },
    { path: "/dashboards/attendance", nav: "Attendance Dashboard", section: "Attendance", period: false, yearOnly: false,
      params: { reception: select("Cohort", ATTENDANCE_COHORTS, "") },
      load: (p) => api("/v1/dashboards/attendance", { academic_year: state.year, ...cohortQuery(p), ...filterQuery() }),
      render: renderAttendanceDashboard },
    { path: "/reports/attendance", nav: "Attendance by Group", section: "Attendance", period: false,
      params: { window: select("Window", ATTENDANCE_WINDOWS, "ytd"), by: select("View options: group by", GROUPINGS, "school"),
        reception: select("Cohort", ATTENDANCE_COHORTS, ""), pupils: { type: "flag", options: [["show", "show"]], default: "" } },
      load: loadAttendance, render: renderAttendance, updated: (data) => data.report.last_updated },
    { path: "/reports/attendance-codes", nav: "Absence by Code", section: "Attendance", period: false,
      params: { window: select("Window", ATTENDANCE_WINDOWS, "ytd"), by: select("View options: group by", GROUPINGS, "school"),
        reception: select("Cohort", ATTENDANCE_COHORTS, "") },
      load: (p) => api("/v1/reports/attendance-codes", { academic_year: state.year, ...windowQuery(p), by: p.by, ...cohortQuery(p), ...filterQuery() }),
      render: renderAttendanceCodes },
    { path: "/reports/attendance-trend", nav: "Attendance Trend", section: "Attendance", period: false,
      params: { by: select("View options: group by", GROUPINGS, "school"), reception: select("Cohort", ATTENDANCE_COHORTS, "") },
      load: (p) => api("/v1/reports/attendance-trend", { academic_year: state.year, by: p.by, ...cohortQuery(p), ...filterQuery() }),
      render: renderAttendanceTrend },
    { path: "/reports/attendance-attainment", nav: "Attendance vs Attainment", section: "Attendance", period: true,
      params: { measure: select("Measure", [...PRIMARY_MEASURES, ...measureOptions(["gld"])], "rwm") },
      load: (p) => api("/v1/reports/attendance-attainment", { measure: p.measure, ...periodQuery(), ...filterQuery() }),
      render: renderAttendanceAttainment },
    { path: "/board-pack", nav: "Board Pack", section: "Exports", period: true, noExports: true, params: {},
      load: async () => ({ last_updated: null }), render: renderBoardPack },
    { path: "/help", nav: "Glossary", section: "Help", period: false, plain: true, params: {},
      load: async () => ({ last_updated: null }), render: renderGlossary },
  ];
  const VIEW_BY_PATH = Object.fromEntries(VIEWS.map((v) => [v.path, v]));

  // Where a page opens when no year is chosen: the statutory pages on the latest year with statutory
  // results, every other page on the latest period with data.
  const openingYear = (view) => (view.yearOnly ? state.statutoryYear : state.defaultYear);

  // The year and period go into the URL only once chosen (a selector, a link to another year), so
  // that moving between pages opens each on its own data until then.
  function hashFor(path, viewParams = {}, global = {}) {
    const g = { year: state.year, period: state.period, filters: state.filters, ...global };
    const q = new URLSearchParams();
    for (const [key, value] of Object.entries(viewParams)) if (value) q.append(key, value);
    if (state.chosen || "year" in global || "period" in global) {
      q.append("academic_year", g.year);
      q.append("period", g.period);
    }
    for (const f of FILTERS) for (const value of [].concat(g.filters[f.name] ?? [])) if (value) q.append(f.name, value);
    const rest = q.toString();
    return `#${path}${rest ? `?${rest}` : ""}`;
  }

  function go(path, viewParams, global = {}) {
    const hash = hashFor(path, viewParams, global);
    if (hash === location.hash) refresh(); else location.hash = hash;
  }

  function readParams(view, params) {
    const out = {};
    for (const [name, spec] of Object.entries(view.params)) {
      const value = params.get(name);
      out[name] = valuesOf(spec.options).includes(value) ? value : spec.default;
    }
    return out;
  }

  function readFilters(params) {
    const out = {};
    for (const f of FILTERS) {
      const allowed = f.name === "school" ? null : valuesOf(f.options());
      const values = params.getAll(f.name).filter((v) => v && (!allowed || allowed.includes(v)));
      out[f.name] = f.multi ? [...new Set(values)] : (values[0] || "");
    }
    return out;
  }

  function route() {
    const { path, params } = parseHash(location.hash);
    if (Accounts.isAccountPath(path) || Accounts.mustChangePassword()) {
      $("app").classList.add("hidden");
      Entry.hide();
      Accounts.show(Accounts.mustChangePassword() ? "/account/password" : path);
      return;
    }
    Accounts.hide();
    Entry.hide();
    if (!state.calendar) return;
    if (Entry.isEntryPath(path)) {
      $("app").classList.add("hidden");
      state.view = null;
      Entry.show(path, params, { calendar: state.calendar, schools: state.schools });
      return;
    }
    $("app").classList.remove("hidden");
    const view = VIEW_BY_PATH[path];
    if (!view) { history.replaceState(null, "", `${location.pathname}${location.search}#/`); route(); return; }
    const year = params.get("academic_year");
    const period = params.get("period");
    state.chosen = state.calendar.academic_years.includes(year) && state.calendar.periods.includes(period);
    state.year = state.chosen ? year : openingYear(view);
    state.period = state.chosen ? period : state.defaultPeriod;
    if (state.filtersYear !== state.year) { state.filtersYear = state.year; buildFilters(); } // this year's classes
    state.filters = readFilters(params);
    state.params = readParams(view, params);
    state.memory[view.path] = state.params;
    const entering = state.view !== view;
    state.view = view;
    chrome(entering);
    if (entering && state.shown) $("page-title").focus();
    state.shown = true;
    refresh();
  }

  // Everything around the figures: titles, navigation, the period, filters and the report's options.
  function chrome(entering) {
    const view = state.view;
    document.title = `Tidemark · ${view.nav}`;
    $("page-sub").textContent = view.nav;
    $("page-title").textContent = view.nav;
    for (const link of $("nav").querySelectorAll("a")) {
      const target = VIEW_BY_PATH[link.dataset.path];
      if (!target) continue; // the administration links
      link.href = hashFor(target.path, state.memory[target.path] || {});
      if (target === view) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
    }
    const dashboard = view.path === "/";
    for (const id of ["period-controls", "filters"]) $(id).classList.toggle("hidden", !!view.plain);
    $("export-csv").parentElement.classList.toggle("hidden", !!view.noExports); // the board pack is its own download
    $("page-dashboard").classList.toggle("hidden", !dashboard);
    $("view").classList.toggle("hidden", dashboard);
    if (entering) $("view").replaceChildren();
    if (Object.values(view.params).some((spec) => spec.type === "tabs")) $("view").setAttribute("role", "tabpanel");
    else $("view").removeAttribute("role");
    $("year").value = state.year;
    $("period").value = state.period;
    $("period").disabled = !view.period;
    $("period").title = view.period ? "" : view.yearOnly ? "Statutory results are per academic year, compared with the year before"
      : "This report covers every period of the academic year and the two before";
    if (view.yearOnly) {
      $("term").replaceChildren("Academic Year ", el("strong", { textContent: state.year }),
        " · compared with ", el("strong", { textContent: previousYear(state.year) }));
    } else if (view.period) {
      $("term").replaceChildren("Term ", el("strong", { textContent: termName(state.period) }),
        " · Academic Year ", el("strong", { textContent: state.year }));
    } else {
      const years = state.calendar.academic_years;
      const index = years.indexOf(state.year);
      const first = index >= 2 ? years[index - 2] : previousYear(previousYear(state.year));
      $("term").replaceChildren("Term ", el("strong", { textContent: "all terms" }),
        " · Academic Years ", el("strong", { textContent: `${first} – ${state.year}` }));
    }
    syncFilters();
    buildViewControls(view);
    if (dashboard) {
      $("measure").value = state.params.measure;
      updateDashboardLinks();
    }
  }

  function previousYear(year) {
    const match = /^(\d{4})\/(\d{2})$/.exec(year);
    if (!match) return year;
    const start = Number(match[1]) - 1;
    return `${start}/${String((start + 1) % 100).padStart(2, "0")}`;
  }

  function optionNodes(options, chosen) {
    return options.map((o) => (o.group
      ? el("optgroup", { label: o.group }, optionNodes(o.options, chosen))
      : el("option", { value: o[0], textContent: o[1], selected: o[0] === chosen })));
  }

  function buildViewControls(view) {
    const holder = $("view-controls");
    const focused = document.activeElement && holder.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    const nodes = [];
    for (const [name, spec] of Object.entries(view.params)) {
      const change = (value) => go(view.path, { ...state.params, [name]: value });
      if (spec.type === "select") {
        const input = el("select", { name }, optionNodes(spec.options, state.params[name]));
        input.dataset.key = name;
        input.addEventListener("change", () => change(input.value));
        nodes.push(el("label", {}, spec.label, input));
      } else if (spec.type === "toggle") {
        const box = el("div", { className: "options" });
        for (const [value, text] of spec.options) {
          const id = `opt-${name}-${value}`;
          const input = el("input", { type: "radio", name, id, value, checked: state.params[name] === value });
          input.dataset.key = `${name}-${value}`;
          input.addEventListener("change", () => change(value));
          box.append(input, el("label", { htmlFor: id, textContent: text }));
        }
        // Shown only when the API says the School view is available for this selection.
        const shown = state.toggles[`${view.path} ${name}`] === true;
        nodes.push(el("fieldset", { className: `segmented${shown ? "" : " hidden"}`, id: `toggle-${name}` }, el("legend", { textContent: spec.label }), box));
      } else if (spec.type === "tabs") {
        // Tabs over the figures below (#view): arrow keys move between them, as in any tab list.
        const list = el("div", { className: "tabs" });
        list.setAttribute("role", "tablist");
        list.setAttribute("aria-label", spec.label);
        const tabs = spec.options.map(([value, text], i) => {
          const selected = state.params[name] === value;
          const tab = el("button", { type: "button", textContent: text, tabIndex: selected ? 0 : -1 });
          tab.setAttribute("role", "tab");
          tab.setAttribute("aria-selected", String(selected));
          tab.setAttribute("aria-controls", "view");
          tab.dataset.key = `${name}-${value}`;
          tab.addEventListener("click", () => change(value));
          tab.addEventListener("keydown", (e) => {
            const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
            const to = e.key === "Home" ? 0 : e.key === "End" ? spec.options.length - 1
              : step ? (i + step + spec.options.length) % spec.options.length : null;
            if (to === null) return;
            e.preventDefault();
            list.children[to].focus();
            change(spec.options[to][0]);
          });
          return tab;
        });
        list.append(...tabs);
        nodes.push(el("div", { className: "field-label" }, el("span", { textContent: spec.label, ariaHidden: "true" }), list));
      }
    }
    holder.replaceChildren(...nodes);
    if (focused) {
      const again = holder.querySelector(`[data-key="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  }

  // ---- filters ----
  function buildFilters() {
    const holder = $("filter-controls");
    holder.replaceChildren();
    for (const f of FILTERS) {
      let field;
      if (f.multi) {
        const summary = el("summary", { id: `filter-${f.name}-summary` });
        const boxes = f.options().map(([value, text]) => {
          const input = el("input", { type: "checkbox", value });
          input.addEventListener("change", () => {
            const chosen = [...holder.querySelectorAll(`[data-filter="${f.name}"] input:checked`)].map((i) => i.value);
            setFilter(f.name, chosen);
          });
          return el("label", { className: "check" }, input, text);
        });
        const reset = el("button", { type: "button", className: "link", textContent: "All (no filter)" });
        reset.addEventListener("click", () => setFilter(f.name, []));
        field = el("div", { className: "field-label" }, el("span", { textContent: f.label, ariaHidden: "true" }),
          el("details", { className: "dropdown" }, summary,
            el("div", { className: "menu" }, el("fieldset", {}, el("legend", { textContent: f.label }), boxes), reset)));
      } else {
        const input = el("select", {}, el("option", { value: "", textContent: "Any" }),
          f.options().map(([value, text]) => el("option", { value, textContent: text })));
        input.addEventListener("change", () => setFilter(f.name, input.value));
        field = el("label", {}, f.label, input);
      }
      field.dataset.filter = f.name;
      holder.append(field);
    }
  }

  function setFilter(name, value) {
    go(state.view.path, state.params, { filters: { ...state.filters, [name]: value } });
  }

  function filterValueLabel(f, value) {
    return labelOf(f.options(), value);
  }

  function syncFilters() {
    const schoolOnly = !!state.view.schoolOnly;
    for (const f of FILTERS) {
      const field = $("filter-controls").querySelector(`[data-filter="${f.name}"]`);
      if (!field) continue;
      field.classList.toggle("hidden", schoolOnly && f.name !== "school");
      if (f.multi) {
        const chosen = state.filters[f.name];
        for (const input of field.querySelectorAll("input")) input.checked = chosen.includes(input.value);
        const summary = field.querySelector("summary");
        summary.textContent = !chosen.length ? "All" : chosen.length === 1 ? filterValueLabel(f, chosen[0]) : `${chosen.length} selected`;
        summary.setAttribute("aria-label", `${f.label}: ${summary.textContent}`);
      } else {
        field.querySelector("select").value = state.filters[f.name];
      }
    }
    const note = $("filter-note");
    note.textContent = schoolOnly ? "Only the school filter applies to Data Completion: it compares whole year groups with the roll." : "";
    note.classList.toggle("hidden", !schoolOnly);
    const chips = [];
    let active = 0;
    for (const f of FILTERS) {
      const applies = !schoolOnly || f.name === "school";
      for (const value of [].concat(state.filters[f.name]).filter(Boolean)) {
        const text = `${f.label}: ${filterValueLabel(f, value)}`;
        active += 1;
        const remove = el("button", { type: "button", textContent: "×", ariaLabel: `Remove filter ${text}` });
        remove.addEventListener("click", () => setFilter(f.name, f.multi ? state.filters[f.name].filter((v) => v !== value) : ""));
        chips.push(el("span", { className: `chip${applies ? "" : " off"}`, title: applies ? "" : "Not applied to this report" },
          applies ? text : `${text} (not applied here)`, remove));
      }
    }
    if (chips.length) {
      const clear = el("button", { type: "button", className: "link", textContent: "Clear all filters" });
      clear.addEventListener("click", () => go(state.view.path, state.params,
        { filters: Object.fromEntries(FILTERS.map((f) => [f.name, f.multi ? [] : ""])) }));
      chips.unshift(el("span", { textContent: `Active filters (${active}):` }));
      chips.push(clear);
    }
    $("filter-chips").replaceChildren(...chips);
    $("filters-title").textContent = active ? `Filters · ${active} active` : "Filters · none: every pupil";
  }

  // ---- loading and rendering the current view ----
  async function refresh() {
    const view = state.view;
    if (!view) return;
    const seq = ++state.seq;
    const target = view.path === "/" ? $("page-dashboard") : $("view");
    target.setAttribute("aria-busy", "true");
    state.exported = null;
    try {
      const data = await view.load(state.params);
      if (seq !== state.seq) return; // a newer selection is on its way
      const nodes = view.render(data, state.params);
      if (nodes) $("view").replaceChildren(...[].concat(nodes));
      for (const table of $("view").querySelectorAll("table")) sortable(table);
      scrollRegions($("view"));
      setUpdated(view.updated ? view.updated(data) : data.last_updated);
      showError("");
    } catch (error) {
      if (seq !== state.seq) return;
      handle(error);
    } finally {
      if (seq === state.seq) target.removeAttribute("aria-busy");
    }
  }

  // A table or chart wider than its card scrolls inside it: the box is focusable (keyboard scrolling)
  // and named after its table's caption.
  function scrollRegions(root) {
    const used = new Set([...document.querySelectorAll(".scroll[aria-label]")].map((box) => box.getAttribute("aria-label")));
    for (const box of root.querySelectorAll(".scroll:not([tabindex])")) {
      const caption = box.querySelector("caption");
      const heading = box.closest("section")?.querySelector("h3")?.firstChild?.textContent?.trim();
      let name = caption ? caption.textContent : box.querySelector("svg")?.getAttribute("aria-label") || `${heading || "Figures"}, table`;
      for (let n = 2; used.has(name); n += 1) name = `${name.replace(/ \(\d+\)$/, "")} (${n})`;
      used.add(name);
      box.tabIndex = 0;
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", name);
    }
  }

  function refreshSoon() {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(refresh, 250); // a burst of locks refreshes once
  }

  function setUpdated(value) {
    $("updated").textContent = value
      ? new Date(value).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "medium" })
      : "never";
  }

  function handle(error) {
    if (error instanceof Unauthorised) {
      state.calendar = null;
      showError("");
      Accounts.signIn("Your session has ended, or your access changed: sign in again.");
    } else if (error instanceof ApiError) {
      // Shown where the figures were, so that nothing stale stays under the new selection's labels.
      const box = message(error.message, "error");
      if (state.view.path === "/") {
        showError(error.message);
      } else {
        if (state.params.view === "school") {
          const back = el("button", { type: "button", className: "secondary", textContent: "Show the Simple view" });
          back.addEventListener("click", () => go(state.view.path, { ...state.params, view: "simple" }));
          box.append(back);
        }
        $("view").replaceChildren(box);
      }
    } else {
      showError(String(error.message || error));
    }
  }

  // ---- Summative Dashboard ----
  const link = (path, params = {}) => hashFor(path, { ...defaultsOf(path), ...params });
  function defaultsOf(path) {
    return Object.fromEntries(Object.entries(VIEW_BY_PATH[path].params).map(([k, spec]) => [k, spec.default]));
  }

  function updateDashboardLinks() {
    const measure = state.params.measure;
    $("link-primary").href = link("/reports/primary-subjects");
    $("link-eyfs").href = link("/reports/early-years-subjects");
    $("link-gender").href = link("/reports/diminishing-the-difference", { gap: "sex", subject: "gld_rwm" });
    $("link-disadvantaged").href = link("/reports/diminishing-the-difference", { gap: "disadvantaged", subject: "rwm" });
    $("link-progress").href = link("/reports/progress-over-time", { by: "school", measure: "gld_rwm" });
    $("link-progress-statutory").href = link("/reports/progress-from-statutory");
    $("link-by-school").href = ["gld", "all_goals"].includes(measure) ? link("/reports/early-years-subjects", { measure })
      : measure === "gld_rwm" ? link("/reports/progress-over-time", { by: "school", measure })
        : link("/reports/primary-subjects", { measure });
  }

  function tileNode(tile, reportPath) {
    const name = reportPath
      ? el("a", { href: link(reportPath, { measure: tile.measure }), textContent: tile.label, title: `Open the ${tile.label} report` })
      : tile.label;
    const pupils = `${count(tile.n)} pupil${tile.n === 1 ? "" : "s"}`;
    if (tile.small_group) {
      return el("div", { className: "tile" },
        el("div", { className: "name" }, name),
        el("div", { className: "pct small" }, `${pupils} assessed`, smallMark()),
        el("div", { className: "n" }, tile.pct === null ? "% withheld" : `${pct(tile.pct)} at or above`));
    }
    return el("div", { className: "tile" },
      el("div", { className: "name" }, name),
      el("div", { className: "pct" }, tile.pct === null ? nodata() : pct(tile.pct)),
      el("div", { className: "n", textContent: `${pupils} assessed` }),
      el("div", { className: `change ${tile.direction}` }, changeText(tile, tile.pct, " pts")));
  }

  // The gap's colour follows its size, not its sign: red when |gap| grew, green when it did not.
  function gapNode(gap, caption) {
    const [className, text] = gap.widening === true ? ["wider", "Widening"]
      : gap.widening === false ? ["narrower", "Narrowing or steady"] : ["unknown", "No comparison"];
    return el("div", { className: "tile gap" },
      el("div", { className: "name", textContent: `Gap (${caption})` }),
      el("div", { className: "pct" }, gap.gap === null ? nodata() : points(gap.gap)),
      // The change takes the widening colour too: a gap moving away from zero is bad news.
      el("div", { className: `widening ${className}` }, "Change ", missing(gap.gap) ? nodata() : gap.display),
      el("div", { className: `widening ${className}`, textContent: text }));
  }

  function renderDashboard([dashboard, report]) {
    const previous = dashboard.previous_period;
    $("overview-note").textContent = `Change since ${previous.period} ${previous.academic_year}`;
    $("tiles").replaceChildren(...dashboard.primary_subjects.map((t) => tileNode(t, "/reports/primary-subjects")));
    $("eyfs-tiles").replaceChildren(...dashboard.eyfs_subjects.map((t) => tileNode(t, "/reports/early-years-subjects")));
    const gender = dashboard.gender_gap;
    $("gender-gap").replaceChildren(tileNode(gender.female), tileNode(gender.male), gapNode(gender.gap, "Female − Male"));
    const dis = dashboard.disadvantaged_gap;
    const nat = dis.national_not_disadvantaged;
    // For reference, as the DfE compares: other pupils nationally (a statutory end of KS2 figure).
    const national = nat ? el("div", { className: "tile national-tile", title: nationalTitle(nat) },
      el("div", { className: "name", textContent: "Not disadvantaged, national" }),
      el("div", { className: "pct", textContent: `${nat.value}%` }),
      el("div", { className: "n", textContent: `end of KS2 RWM, DfE ${nat.academic_year}` })) : null;
    $("disadvantaged-gap").replaceChildren(...[tileNode(dis.not_disadvantaged), tileNode(dis.disadvantaged),
      gapNode(dis.gap, "Not disadv. − Disadv."), national].filter(Boolean));
    // A point opens the dashboard for its period.
    const series = dashboard.progress_over_time;
    $("dash-progress").replaceChildren(lineChartFigure(series, [{ key: "dash-all", label: "All Pupils", color: COLOURS.allPupils, dashed: true,
      values: series, href: (i) => hashFor("/", state.params, atPeriod(series[i])) }],
    { title: "All Pupils, Combined (GLD or RWM): % at or above per period", height: 260,
      description: "Line chart of All Pupils % at or above, Combined (GLD or RWM), per period. Select a point to open the dashboard for that period." }).figure);
    const average = report.all_pupils.pct;
    // A school's name opens its report for the measure (by year group), as a bar of the report's chart does.
    const [path, params] = measureReport(state.params.measure);
    const href = (r) => groupHref(path, { ...params, by: "school" }, "school", r.group);
    const row = (r, className = "") => el("tr", { className },
      rowLink(r.label, className ? null : href(r)), numCell(count(r.n)), numCell(count(r.at_or_above)), numCell(groupPct(r)),
      el("td", { className: "barcell" }, bar(r.pct, average)));
    $("schools").replaceChildren(row(report.all_pupils, "all"), ...report.rows.map((r) => row(r)));
    renderProgressWidget(dashboard);
  }

  // A category as the page names it everywhere: its swatch (colour and pattern), its track's symbol, its label.
  const categorySwatch = (id) => el("span", { className: `swatch cat cat-${id}`, ariaHidden: "true" });
  const categoryName = (id, label) => [categorySwatch(id), trackNode(id), label];

  // Progress From Statutory Assessment: the seven categories, then Not categorised; a tile opens its drill-down.
  function renderProgressWidget(dashboard) {
    const tiles = dashboard.progress_from_statutory || [];
    const categorised = tiles.filter((t) => t.category !== "not_categorised").reduce((sum, t) => sum + t.pupils, 0);
    $("progress-statutory-note").textContent = `Level of Progress Made, ${periodLong(dashboard)} · % of ${count(categorised)} categorised pupils`;
    $("progress-statutory").replaceChildren(...tiles.map((t) => {
      const uncategorised = t.category === "not_categorised";
      const pupils = `${count(t.pupils)} pupil${t.pupils === 1 ? "" : "s"}`;
      return el("a", { className: `tile cat cat-${t.category}`, href: link("/reports/progress-from-statutory", { category: t.category }),
        title: `Open the drill-down: ${t.label}` },
        el("div", { className: "name" }, categoryName(t.category, t.label)),
        el("div", { className: "pct" }, uncategorised ? count(t.pupils) : t.pct === null ? nodata() : pct(t.pct)),
        el("div", { className: "n", textContent: uncategorised ? "pupils without a prior statutory result (not in the %)" : pupils }));
    }));
  }

  // ---- Statutory Dashboard ----
  // One tile per measure: each % or average with last year's change, and the pupils it is over.
  function statutoryTile(tile, previousYear) {
    const { figures, previous, changes } = tile.all_pupils;
    const compared = Object.keys(figures).filter((name) => !COUNT_FIGURES.includes(name));
    const figs = compared.map((name, i) => {
      const change = changes[name] || { direction: "none", display: "–" };
      const before = previous[name];
      return el("div", { className: `fig${i ? " minor" : ""}` },
        el("div", { className: "label", textContent: figureLabel(tile.measure, name) }),
        el("div", { className: "pct" }, figureText(name, figures[name])),
        el("div", { className: `change ${change.direction}`,
          title: `${previousYear}: ${before === null || before === undefined ? "no data" : figureText(name, before)}` },
          changeText(change, figures[name], isPctFigure(name) ? " pts" : "")),
        nationalNode(name, tile.all_pupils.national));
    });
    if ("took" in figures) {
      // MTC: the pupils who took the check, a count (so not compared), with last year's beside it.
      figs.push(el("div", { className: "fig minor" },
        el("div", { className: "label", textContent: figureLabel(tile.measure, "took") }),
        el("div", { className: "pct", textContent: count(figures.took) }),
        el("div", { className: "change none" }, el("small", { textContent: `${previousYear}: ${count(previous.took ?? 0)}` }))));
    }
    const plural = (k, one, many) => `${count(k)} ${k === 1 ? one : many}`;
    const n = "eligible" in figures ? plural(figures.eligible, "eligible pupil", "eligible pupils")
        : tile.measure === "eyfs.goals" ? plural(figures.pupils, "pupil", "pupils")
          : plural(figures.pupils, "pupil with a scaled score", "pupils with a scaled score");
    const name = el("a", { href: link("/reports/statutory", { measure: tile.measure }), textContent: STATUTORY_SHORT[tile.measure] || tile.label,
      title: `Open the Statutory Results report: ${tile.label}` });
    if (tile.all_pupils.small_group) {
      return el("div", { className: "tile" }, el("div", { className: "name" }, name),
        el("div", { className: "pct small" }, n, smallMark()),
        el("div", { className: "n", textContent: compared.map((f) => `${figureLabel(tile.measure, f)} ${
          missing(figures[f]) ? "withheld" : isPctFigure(f) ? pct(figures[f]) : figures[f].toFixed(1)}`).join(" · ") }));
    }
    return el("div", { className: "tile" }, el("div", { className: "name" }, name), el("div", { className: "figs" }, figs),
      el("div", { className: "n", textContent: n }));
  }

  function renderStatutoryDashboard(data) {
    const cohort = (figures) => figures.eligible ?? figures.pupils ?? 0;
    const out = [];
    for (const [key, title, years] of STATUTORY_WIDGETS) {
      const tiles = data.widgets[key] || [];
      if (!tiles.length) continue;
      const help = info(key === "eyfs" ? ["gld", "national", "change", "eligibility"] : key === "mtc" ? ["national", "change", "eligibility"]
        : key === "phonics" ? ["expected", "national", "change", "pts", "eligibility"]
          : ["expected", "rwm", "national", "change", "pts", "eligibility"], title);
      const head = el("h3", {}, title, el("span", { className: "note", textContent: `${years} · ${data.academic_year}, change on ${data.previous_year}` }),
        help.button, el("a", { className: "more", href: link("/reports/statutory", { measure: tiles[0].measure }), textContent: "View report →" }));
      // Results arrive once a year (tests and checks in the summer): say so rather than show a page of "no data".
      let empty = null;
      if (tiles.every((t) => !cohort(t.all_pupils.figures))) {
        const earlier = tiles.some((t) => cohort(t.all_pupils.previous) > 0);
        const back = earlier ? el("button", { type: "button", className: "link", textContent: `Show ${data.previous_year}` }) : null;
        if (back) back.addEventListener("click", () => go(state.view.path, state.params, { year: data.previous_year }));
        empty = el("p", { className: "lede" }, `No ${title} results for ${data.academic_year} in this selection yet.`, back ? " " : "", back);
      }
      const scores = key === "ks2" ? tiles.filter((t) => t.measure.endsWith("_ss")) : [];
      const main = tiles.filter((t) => !scores.includes(t));
      out.push(el("section", {}, head, help.panel, empty,
        el("div", { className: "tiles wide" }, main.map((t) => statutoryTile(t, data.previous_year))),
        scores.length ? [el("h4", { className: "sub", textContent: "Average scaled scores" }),
          el("div", { className: "tiles wide" }, scores.map((t) => statutoryTile(t, data.previous_year)))] : null));
      if (key === "ks2" && data.disadvantaged_gap) out.push(statutoryGapSection(data));
    }
    return out;
  }

  // KS2 combined RWM: the Trust's disadvantaged pupils against its others and, as the DfE compares,
  // against non-disadvantaged pupils nationally.
  function statutoryGapSection(data) {
    const gap = data.disadvantaged_gap;
    const name = "exs_plus_pct";
    const side = (f) => {
      const value = f.figures[name];
      const n = f.figures.eligible || 0;
      return el("div", { className: "tile" },
        el("div", { className: "name", textContent: `${f.label} (Trust)` }),
        el("div", { className: `pct${f.small_group ? " small" : ""}` }, f.small_group ? [`${count(n)} eligible`, smallMark()]
          : value === null || value === undefined ? nodata() : pct(value)),
        el("div", { className: "n", textContent: `${count(n)} eligible pupil${n === 1 ? "" : "s"}` }),
        nationalNode(name, f.national));
    };
    const nat = gap.national_not_disadvantaged;
    const national = el("div", { className: "tile national-tile", title: nat ? nationalTitle(nat) : "" },
      el("div", { className: "name", textContent: "Not disadvantaged, national" }),
      el("div", { className: "pct" }, nat ? nationalValue(name, nat.value) : nodata("none published")),
      el("div", { className: "n", textContent: nat ? `DfE, England, ${nat.academic_year}` : "" }));
    const gapTile = (caption, value, note) => el("div", { className: "tile gap" },
      el("div", { className: "name", textContent: caption }),
      el("div", { className: "pct" }, missing(value) ? nodata() : points(value)),
      el("div", { className: "n", textContent: note }));
    const help = info(["rwm", "national", "gap", "pts"], "the disadvantaged gap");
    return el("section", {},
      el("h3", {}, "Disadvantaged pupils, KS2 combined RWM",
        el("span", { className: "note", textContent: `Expected standard · ${data.academic_year} · the DfE compares disadvantaged pupils with other pupils nationally` }),
        help.button,
        el("a", { className: "more", href: link("/reports/statutory", { measure: "ks2.rwm", by: "disadvantaged" }), textContent: "View report →" })),
      help.panel,
      el("div", { className: "tiles wide" }, side(gap.disadvantaged), side(gap.not_disadvantaged), national,
        gapTile("Gap to other pupils nationally", gap.gap_to_national, "national not disadvantaged − Trust disadvantaged"),
        gapTile("Gap within the Trust", gap.gap, "Trust not disadvantaged − Trust disadvantaged")));
  }

  // ---- Statutory Results (one measure per group, this year, last year and the change) ----
  function renderStatutory(data, p) {
    const by = labelOf(GROUPINGS, p.by);
    const names = Object.keys(data.all_pupils.figures);
    const counts = names.filter((n) => COUNT_FIGURES.includes(n));
    const compared = names.filter((n) => !COUNT_FIGURES.includes(n));
    const headline = compared.length && isPctFigure(compared[0]) ? compared[0] : null; // a bar for a leading %
    // National figures: the All Pupils row's (all pupils), and by sex or disadvantaged each group's own.
    const hasNational = [data.all_pupils, ...data.rows].some((r) => r.national);
    const nationalHeadline = (r) => (headline && r.national && r.national[headline] ? r.national[headline].value : null);
    // The national figure closes each figure's group of columns (this year, last year, change, national).
    const nationalCell = (r, n) => {
      const fig = r.national && r.national[n];
      return el("td", { className: "num national-cell", title: fig ? nationalTitle(fig) : "" },
        fig ? [nationalValue(n, fig.value), el("small", { textContent: shortYear(fig.academic_year) })] : nodata("–"));
    };
    const year = shortYear(data.academic_year);
    const before = shortYear(data.previous_year);
    const top = el("tr", {}, el("th", { scope: "col", rowSpan: 2, textContent: by }),
      counts.map((n) => el("th", { scope: "colgroup", colSpan: 2, className: "grp-start", textContent: figureLabel(data.measure, n) })),
      compared.map((n) => el("th", { scope: "colgroup", colSpan: hasNational ? 4 : 3, className: "grp-start", textContent: figureLabel(data.measure, n) })),
      headline ? el("th", { scope: "col", rowSpan: 2 }, "vs All Pupils", el("small", { textContent: `${figureLabel(data.measure, headline)}; orange dashed: All Pupils${
        nationalHeadline(data.all_pupils) !== null ? "; black: national" : ""}` })) : null);
    const second = el("tr", {},
      counts.flatMap(() => [el("th", { scope: "col", className: "num grp-start", textContent: year }), el("th", { scope: "col", className: "num", textContent: before })]),
      compared.flatMap(() => [el("th", { scope: "col", className: "num grp-start", textContent: year }), el("th", { scope: "col", className: "num", textContent: before }),
        el("th", { scope: "col", className: "num", textContent: "Change" }),
        hasNational ? el("th", { scope: "col", className: "num national-cell", title: "The DfE's figure for England (the row's group where published): the year's, or the latest published before" },
          "National", el("small", { textContent: "DfE, England" })) : null]));
    const average = headline ? data.all_pupils.figures[headline] : null;
    const row = (r, className = "") => el("tr", { className }, r.small_group ? el("th", { scope: "row" }, r.label, smallMark()) : rowHead(r.label),
      counts.flatMap((n) => [el("td", { className: "num grp-start" }, figureText(n, r.figures[n])), numCell(figureText(n, r.previous[n]))]),
      compared.flatMap((n) => {
        const change = r.changes[n] || { direction: "none", display: "–" };
        return [el("td", { className: "num grp-start" }, figureText(n, r.figures[n])), numCell(figureText(n, r.previous[n])),
          el("td", { className: `num change ${change.direction}` }, changeText(change, r.figures[n], isPctFigure(n) ? " pts" : "")),
          hasNational ? nationalCell(r, n) : null];
      }),
      headline ? el("td", { className: "barcell" }, bar(r.figures[headline], average, nationalHeadline(r) ?? nationalHeadline(data.all_pupils))) : null);
    const empty = !data.rows.length ? el("p", {}, nodata("No group has pupils in this selection.")) : null;
    return card(`${data.label} · by ${by.toLowerCase()}`, `Statutory results ${data.academic_year}, compared with ${data.previous_year}`,
      el("p", { className: "lede", textContent: "Figures to 1 decimal place; the change is this year's figure less last year's (– when last year has no data). "
        + "Pupils are grouped by their current characteristics, in the year group the assessment belongs to; leavers are excluded." }),
      el("div", { className: "scroll" }, el("table", { className: "sticky statutory-table" },
        el("caption", { className: "sr-only", textContent: `${data.label} by ${by}, ${data.academic_year} and ${data.previous_year}, All Pupils first` }),
        el("thead", {}, top, second),
        el("tbody", {}, row(data.all_pupils, "all"), data.rows.map((r) => row(r))))), empty);
  }

  // ---- Progress From Statutory Assessment (the drill-down) ----
  const PROGRESS_PATH = "/v1/reports/progress-from-statutory";
  async function loadProgressFromStatutory(p) {
    const params = { academic_year: state.year, period: state.period, by: p.by,
      category: p.category === "all" ? undefined : p.category, ...filterQuery() };
    if (p.pupils !== "show" || state.pupilsRefused) return { report: await api(PROGRESS_PATH, params), refused: p.pupils === "show" };
    try {
      return { report: await api(PROGRESS_PATH, { ...params, pupils: "true" }) };
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 403) throw error;
      // Without see_pupils the list is refused (403); the counts are still ours to show. A 403 here
      // too is about the filters (a school out of scope) and is shown like any other error.
      const report = await api(PROGRESS_PATH, params);
      state.pupilsRefused = true;
      return { report, refused: true };
    }
  }

  const PROGRESS_BY = { school: ["School", "by school"], year_group: ["Year group", "by year group"], sex: ["Gender", "by gender"],
    disadvantaged: ["Disadvantaged", "by disadvantaged"], sen: ["SEN", "by SEN"] };
  function renderProgressFromStatutory({ report: data, refused }, p) {
    const [by, byText] = PROGRESS_BY[p.by] || [p.by, `by ${p.by}`];
    const one = p.category !== "all";
    const levelLabel = labelOf(CATEGORIES, p.category);
    const uncategorised = p.category === "not_categorised";
    const ofCategory = (r) => r.categories.find((c) => c.category === p.category) || { pupils: 0, pct: null };
    const catCell = (c) => numCell(c.pct === null || c.pct === undefined
      ? [count(c.pupils), el("small", { textContent: c.category === "not_categorised" ? "" : " · no data" })]
      : [count(c.pupils), el("small", { textContent: ` · ${pct(c.pct)}` })]);
    let head;
    let row;
    if (one) {
      const average = ofCategory(data.all_pupils).pct;
      head = headRow([by, ["Categorised pupils", "num", "with a prior result and a band"], [levelLabel, "num", "pupils"],
        ...(uncategorised ? [] : [["% of categorised", "num"], ["vs All Pupils", "", "orange dashed line: All Pupils"]])]);
      row = (r, className = "") => {
        const c = ofCategory(r);
        return el("tr", { className }, rowHead(r.label), numCell(count(r.categorised)), numCell(count(c.pupils)),
          uncategorised ? null : [numCell(pctNode(c.pct)), el("td", { className: "barcell" }, bar(c.pct, average))]);
      };
    } else {
      head = headRow([by, ["Categorised", "num"],
        ...CATEGORIES.map(([value, label]) => [[trackNode(value), label], "num sub", "pupils · %"]), "Distribution"]);
      row = (r, className = "") => el("tr", { className }, rowHead(r.label), numCell(count(r.categorised)),
        r.categories.map(catCell),
        el("td", { className: "barcell" }, stack(r.categories.filter((c) => c.category !== "not_categorised").map((c) =>
          ({ label: c.label, value: c.pct, count: c.pupils, className: `cat cat-${c.category}` })))));
    }
    const key = one ? null : el("ul", { className: "key", ariaLabel: "Key to the stacked bars" },
      CATEGORIES.filter(([value]) => value !== "not_categorised").map(([value, label]) => el("li", {}, categoryName(value, label))));
    const title = `${one ? levelLabel : "Every Level of Progress Made"} · ${byText}`;
    // Every level: a stacked bar per group over the seven categories (colour and the track's pattern); a bar
    // opens the group's own drill-down (this page filtered to it, one level down).
    const shown = CATEGORIES.filter(([value]) => value !== "not_categorised");
    const chart = one || !data.rows.length ? null : stackedChartFigure([data.all_pupils, ...data.rows].map((r) => ({
      label: r.label, href: groupHref(state.view.path, p, p.by, r.group),
      parts: shown.map(([value]) => { const c = r.categories.find((x) => x.category === value) || { pct: null, pupils: 0 }; return { value: c.pct, count: c.pupils }; }),
    })), shown.map(([value, label]) => ({ label, color: COLOURS.categories[value], pattern: TRACK_PATTERNS[value.split("_").slice(0, -1).join("_")] })),
    { title: `${title}: % of each group's categorised pupils, ${periodLong(data)}`,
      description: `Stacked bar chart of the % of each group's categorised pupils in each Level of Progress Made, ${byText}, All Pupils first. `
        + "Select a bar to open that group's drill-down; the table below has every figure." });
    const counts = card(title,
      `${periodLong(data)}: ${uncategorised ? "pupils with a band but no prior statutory result" : "% of each group's categorised pupils"}`,
      el("p", { className: "lede", textContent: "Prior attainment (GLD for Years 1-2, KS1 combined teacher assessment for Years 3-6) against "
        + "this period's combined RWM band. Categorised pupils have both; pupils without a prior result are Not categorised and in no %." }),
      key, chart,
      el("div", { className: "scroll" }, el("table", { className: "sticky" },
        el("caption", { className: "sr-only", textContent: `${title}, All Pupils first` }),
        el("thead", {}, head),
        el("tbody", {}, row(data.all_pupils, "all"), data.rows.map((r) => row(r))))),
      !data.rows.length ? el("p", {}, nodata("No group has pupils in this selection.")) : null);
    return [counts, pupilsCard(data, p, refused, one ? levelLabel : "every level")];
  }

  function pupilsCard(data, p, refused, what) {
    const showing = p.pupils === "show";
    const toggle = el("button", { type: "button", className: showing ? "secondary" : "", textContent: showing ? "Hide pupils" : "Show pupils" });
    toggle.addEventListener("click", () => {
      state.pupilList = { query: "", all: false };
      go(state.view.path, { ...p, pupils: showing ? "" : "show" });
    });
    const out = [];
    if (showing && refused) {
      out.push(message("Your role does not include access to pupil-level data, so only the counts above are shown. "
        + "If you need the list of pupils, please ask your Trust's Tidemark administrator."));
    } else if (showing && data.pupils) {
      out.push(el("div", { className: "toolbar" }, toggle));
      const pupils = data.pupils;
      const filter = (name) => FILTERS.find((f) => f.name === name);
      const yesNo = (value) => (value ? "Yes" : "No");
      out.push(el("p", { className: "lede" }, `${count(pupils.length)} pupil${pupils.length === 1 ? "" : "s"} in ${what}, ${periodLong(data)}. `
        + "Characteristics are the pupils' current ones."));
      if (pupils.length) {
        out.push(...pupilList(pupils, [["Pupil", (u) => u.pupil_id], ["School", (u) => u.school],
          ["Year group", (u) => yearGroupName(u.year_group), (u) => u.year_group], ["Sex", (u) => labelOf(filter("sex").options(), u.sex)],
          ["Disadvantaged", (u) => yesNo(u.disadvantaged)], ["SEN", (u) => labelOf(filter("sen").options(), u.sen)],
          ["EAL", (u) => yesNo(u.eal)], ["Ethnicity", (u) => labelOf(filter("ethnicity").options(), u.ethnicity)],
          ...(p.category === "all" ? [["Level of Progress Made", (u) => labelOf(CATEGORIES, u.category),
            (u) => CATEGORIES.findIndex(([value]) => value === u.category)]] : [])], `Pupils in ${what}`));
      }
    } else {
      out.push(el("div", { className: "toolbar" }, toggle),
        el("p", { className: "lede", textContent: "The pupils behind these counts can be listed (roles with access to pupil-level data only)." }));
    }
    return card("Pupils", `${what === "every level" ? "Every Level of Progress Made" : what}, in the current filters`, ...out);
  }

  // ---- Primary Subjects / Early Years Subjects ----
  function renderAttainment(data, p) {
    const by = labelOf(GROUPINGS, p.by);
    const average = data.all_pupils.pct;
    // A bar, and a row's name, open the group's own report: this report filtered to it, one level down.
    const href = (r) => groupHref(state.view.path, p, p.by, r.group);
    const row = (r, className = "") => el("tr", { className },
      rowLink(r.label, className ? null : href(r)), numCell(count(r.n)), numCell(count(r.at_or_above)), numCell(groupPct(r)),
      el("td", { className: "barcell" }, bar(r.pct, average)));
    const title = `${measureLabel(data.measure)} · by ${by.toLowerCase()}`;
    const table = el("table", {},
      el("caption", { className: "sr-only", textContent: `${measureLabel(data.measure)}: % at or above by ${by}, All Pupils first` }),
      el("thead", {}, headRow([by, ["Pupils assessed", "num"], ["At or above", "num"], ["% at or above", "num"],
        ["vs All Pupils", "", "orange dashed line: All Pupils"]])),
      el("tbody", {}, row(data.all_pupils, "all"), data.rows.map((r) => row(r))));
    const empty = !data.rows.length ? el("p", {}, nodata("No group has pupils in this selection.")) : null;
    const chart = data.rows.length ? barChartFigure([data.all_pupils, ...data.rows].map((r, i) => ({
      label: r.label, value: r.pct, small_group: r.small_group, href: i ? href(r) : null,
      hover: `${r.label}\n${missing(r.pct) ? (r.n ? "% withheld" : "no data") : `${pct(r.pct)} at or above`} · ${count(r.at_or_above ?? 0)} of ${count(r.n)} pupils`
        + `${r.small_group ? " (small group)" : ""}` })), { title: `${title}: % at or above ARE, ${periodLong(data)}`,
      description: `Bar chart of ${measureLabel(data.measure)} % at or above by ${by.toLowerCase()}, All Pupils first. `
        + "Select a bar to open that group's report; the table below has every figure and the same links." }) : null;
    return card(title, `% at or above ARE, ${periodLong(data)}`, chart, el("div", { className: "scroll" }, table), empty);
  }

  // ---- Attainment Overview (Simple view: Below / At / Above; School view: the model's codes) ----
  function renderOverview(data, p) {
    const toggle = $("toggle-view");
    state.toggles[`${state.view.path} view`] = data.school_view_available === true;
    if (toggle) toggle.classList.toggle("hidden", data.school_view_available !== true);
    const by = labelOf(GROUPINGS, p.by);
    const schoolView = data.view === "school" && data.model && Array.isArray(data.model.codes);
    const out = [];
    if (p.view === "school" && !schoolView) {
      const back = el("button", { type: "button", className: "secondary", textContent: "Show the Simple view" });
      back.addEventListener("click", () => go(state.view.path, { ...p, view: "simple" }));
      out.push(message("The School view is not available for this selection, so the Simple view is shown.", "", back));
    }
    const title = `${measureLabel(data.measure)} · by ${by.toLowerCase()}`;
    // A bar, and a row's name, open the group's own overview: this report filtered to it, one level down.
    const href = (r) => (r.group === "all" ? null : groupHref(state.view.path, p, p.by, r.group));
    const rows = [data.all_pupils, ...data.rows];
    const chartNote = "Select a bar to open that group's overview; the table below has every figure and the same links.";
    if (schoolView) {
      out.push(schoolViewCard(data, by, title, href));
    } else {
      const bands = SIMPLE_BANDS;
      const chart = data.rows.length ? stackedChartFigure(rows.map((r) => ({ label: r.label, href: href(r),
        parts: bands.map(([key]) => ({ value: r.n ? r[`pct_${key}`] : null, count: r[key] })) })),
      bands.map(([, label, band]) => ({ label: `${label} ARE`, color: BAND_COLOURS[band] })),
      { title: `${title}: pupils Below, At and Above ARE, ${periodLong(data)}`,
        description: `Stacked bar chart of the % of pupils Below, At and Above ARE by ${by.toLowerCase()}, All Pupils first. ${chartNote}` }) : null;
      const row = (r, className = "") => el("tr", { className }, rowLink(r.label, href(r)), numCell(count(r.n)),
        r.n === 0 ? el("td", { colSpan: 3, className: "num" }, nodata())
          : bands.map(([key]) => numCell([count(r[key]), el("small", { textContent: ` · ${pct(r[`pct_${key}`])}` })])),
        el("td", { className: "barcell" }, stack(bands.map(([key, label, band]) =>
          ({ label, value: r[`pct_${key}`], count: r[key], className: `band-${band}` })))));
      const key = el("ul", { className: "key" }, bands.map(([, label, band]) =>
        el("li", {}, el("span", { className: `swatch band-${band}` }), `${label} ARE`)));
      out.push(card(title, `Simple view: pupils Below, At and Above ARE, ${periodLong(data)}`, key, chart,
        el("div", { className: "scroll" }, el("table", {},
          el("caption", { className: "sr-only", textContent: `${title}: pupils per band, All Pupils first` }),
          el("thead", {}, headRow([by, ["Pupils assessed", "num"], ["Below", "num", "pupils · %"], ["At", "num", "pupils · %"],
            ["Above", "num", "pupils · %"], "Distribution"])),
          el("tbody", {}, row(data.all_pupils, "all"), data.rows.map((r) => row(r)))))));
    }
    return out;
  }

  // The model as people know it: its label, else its name made readable ("sonar" -> "Sonar").
  const modelName = (model) => model.label || model.name.replace(/[_-]+/g, " ").replace(/^./, (c) => c.toUpperCase());

  function schoolViewCard(data, by, title, href) {
    const codes = data.model.codes;
    const colours = bandColours(codes);
    const model = modelName(data.model);
    const band = (c) => String(c.band).toLowerCase();
    const entriesOf = (r) => Object.fromEntries((r.codes || []).map((c) => [c.code, c]));
    const pupilsOf = (r) => r.n ?? (r.codes || []).reduce((sum, c) => sum + (c.pupils || 0), 0);
    const row = (r, className = "") => {
      const entries = entriesOf(r);
      const n = pupilsOf(r);
      const cells = n === 0 ? [el("td", { colSpan: codes.length, className: "num" }, nodata())]
        : codes.map((c, i) => {
          const e = entries[c.code] || { pupils: 0, pct: null };
          return el("td", { className: `num code${i === 0 ? " grp-start" : ""}` }, count(e.pupils),
            el("small", { textContent: e.pct === null || e.pct === undefined ? "–" : pct(e.pct) }));
        });
      return el("tr", { className }, rowLink(r.label, href(r)), numCell(count(n)),
        el("td", { className: "barcell" }, stack(codes.map((c) => {
          const e = entries[c.code] || {};
          return { label: c.label || c.code, value: n === 0 ? null : e.pct ?? null, count: e.pupils || 0, color: colours[c.code] };
        }))), cells);
    };
    const key = el("ul", { className: "key" }, codes.map((c) => {
      const sw = el("span", { className: "swatch" });
      sw.style.background = colours[c.code];
      return el("li", {}, sw, el("strong", { textContent: c.code }), c.label && c.label !== c.code ? ` ${c.label}` : "",
        el("small", { className: "nodata", textContent: ` (${band(c)})` }));
    }));
    const chart = data.rows.length ? stackedChartFigure([data.all_pupils, ...data.rows].map((r) => {
      const entries = entriesOf(r);
      const n = pupilsOf(r);
      return { label: r.label, href: href(r), parts: codes.map((c) => ({ value: n ? entries[c.code]?.pct ?? null : null, count: entries[c.code]?.pupils || 0 })) };
    }), codes.map((c) => ({ label: c.label && c.label !== c.code ? `${c.code} ${c.label}` : c.code, color: colours[c.code] })),
    { title: `${title}: pupils per code of ${model}, ${periodLong(data)}`,
      description: `Stacked bar chart of the % of pupils per code of ${model}, lowest first, by ${by.toLowerCase()}, All Pupils first. `
        + "Select a bar to open that group's overview; the table below has every figure and the same links." }) : null;
    const head = el("tr", {}, el("th", { scope: "col", textContent: by }), el("th", { scope: "col", className: "num", textContent: "Pupils assessed" }),
      el("th", { scope: "col", textContent: "Distribution" }),
      codes.map((c, i) => el("th", { scope: "col", className: `num${i === 0 ? " grp-start" : ""}`, title: `${c.label || c.code} (${band(c)})` },
        c.code, el("small", { textContent: band(c) }))));
    return card(title, `School view: ${model}, ${periodLong(data)}`, key, chart,
      el("div", { className: "scroll" }, el("table", { className: "sticky" },
        el("caption", { className: "sr-only", textContent: `${title}: pupils and % per code of ${model}` }),
        el("thead", {}, head),
        el("tbody", {}, row(data.all_pupils, "all"), data.rows.map((r) => row(r))))));
  }

  // ---- Pupil Overview ----
  function renderPupilOverview(data, p) {
    const by = labelOf(GROUPINGS, p.by);
    const asPct = p.show === "pct";
    const chars = CHARACTERISTICS.filter(([key]) => data.all_pupils.breakdown[key]);
    const top = el("tr", {}, el("th", { scope: "col", rowSpan: 2, textContent: by }),
      el("th", { scope: "col", rowSpan: 2, className: "num", textContent: "Pupils" }),
      chars.map(([key, label]) => el("th", { scope: "colgroup", colSpan: data.all_pupils.breakdown[key].length, className: "grp-start", textContent: label })));
    const second = el("tr", {}, chars.flatMap(([key]) => data.all_pupils.breakdown[key].map((g, i) =>
      el("th", { scope: "col", className: `num sub${i === 0 ? " grp-start" : ""}`, textContent: g.label }))));
    const row = (r, className = "") => el("tr", { className }, rowHead(r.label), numCell(count(r.pupils)),
      chars.flatMap(([key]) => (r.breakdown[key] || []).map((g, i) => el("td", { className: `num${i === 0 ? " grp-start" : ""}` },
        asPct ? (r.pupils ? pct((100 * g.pupils) / r.pupils) : nodata()) : count(g.pupils)))));
    return card(`Pupils · by ${by.toLowerCase()}`, `${periodLong(data)}: pupils with at least one locked result (not the roll)`,
      el("div", { className: "scroll" }, el("table", { className: "sticky" },
        el("caption", { className: "sr-only", textContent: `Pupils with data by ${by}, broken down by characteristic` }),
        el("thead", {}, top, second),
        el("tbody", {}, row(data.all_pupils, "all"), data.rows.map((r) => row(r))))));
  }

  // ---- Progress Over Time ----
  // `href(row)`: where the row's name links (its report), or nothing. `from`: the first period's index in each row's series.
  function seriesTable(periods, rows, caption, href = () => null, from = 0) {
    return el("div", { className: "scroll" }, el("table", { className: "sticky" },
      el("caption", { className: "sr-only", textContent: caption }),
      el("thead", {}, headRow(["Group", ...periods.map((q) => [periodShort(q), "num"])])),
      el("tbody", {}, rows.map((r) => el("tr", { className: r.group === "all" ? "all" : "" }, rowLink(r.label, href(r)),
        r.series.slice(from, from + periods.length).map((point) => {
          const cell = numCell(groupPct(point));
          if (point.pct !== null) cell.title = `${count(point.at_or_above)} of ${count(point.n)} pupils`;
          return cell;
        }))))));
  }

  function renderProgress(data, p) {
    const by = labelOf(SERIES_GROUPINGS, p.by);
    const [from, to] = dataSpan([data.all_pupils.series, ...data.rows.map((r) => r.series)]);
    // A point opens its group's report for its period; a row's name, for the latest period with data.
    const [path, params] = measureReport(data.measure);
    const open = (group, period) => (p.by === "subject"
      ? hashFor(...measureReport(group === "all" ? data.measure : group), atPeriod(period))
      : group === "all" ? hashFor(path, { ...params, by: p.by }, atPeriod(period))
        : groupHref(path, { ...params, by: p.by }, p.by, group, atPeriod(period)));
    const lines = [
      { key: "all", label: `All Pupils${p.by === "subject" ? ` (${measureLabel(data.measure)})` : ""}`, color: COLOURS.allPupils, dashed: true,
        values: data.all_pupils.series, href: (i) => open("all", data.periods[i]) },
      ...data.rows.map((r, i) => ({ key: `${p.by}:${r.group}`, label: r.label, color: COLOURS.series[i % COLOURS.series.length], values: r.series,
        href: (k) => open(r.group, data.periods[k]) })),
    ];
    const what = p.by === "subject" ? "each subject's % at or above" : `${measureLabel(data.measure)} % at or above by ${by.toLowerCase()}`;
    const span = `${data.periods[0]?.academic_year ?? ""} – ${data.academic_year}`;
    const title = `${p.by === "subject" ? "Subjects" : measureLabel(data.measure)} · by ${by.toLowerCase()}`;
    return [
      card(title, `% at or above, ${span}: the periods with data so far`,
        p.by === "subject" ? el("p", { className: "lede", textContent: `Rows are subjects; All Pupils shows ${measureLabel(data.measure)}.` }) : null,
        chartWithLegend(data.periods, lines, { title: `${title}: % at or above per period`,
          description: `Line chart of ${what} per period, ${span}. Select a point to open that group's report for its period; the Figures table below has every figure.` })),
      card("Figures", "% at or above per period; hover a figure for its pupils; a name opens its report for the latest period",
        seriesTable(data.periods.slice(from, to), [data.all_pupils, ...data.rows], `% at or above per period by ${by}`,
          (r) => (r.group === "all" || !to ? null : open(r.group, data.periods[to - 1])), from)),
    ];
  }

  // ---- Attendance (issue 12): figures from the register marks, live like the rest ----
  const windowName = (w) => (w === "YTD" ? "Year to date" : /^\d{4}-/.test(w) ? `Week of ${w}` : termName(w));
  function nationalNote(national) {
    if (!national) return "No national figure is published for this year and period.";
    const parts = [["absence_pct", "absence"], ["authorised_absence_pct", "authorised"], ["unauthorised_absence_pct", "unauthorised"],
      ["persistent_absence_pct", "persistent absence"]].filter(([k]) => national[k])
      .map(([k, name]) => `${name} ${national[k].value}% (${national[k].phase === "primary" ? "primary" : "all schools"}, ${national[k].academic_year} ${national[k].period.replace("_", " ")})`);
    const source = Object.values(national)[0]?.source ?? "";
    return `National: ${parts.join("; ")}. Source: ${source}.`;
  }
  function attendanceTable(rows, allPupils, caption, by) {
    const average = allPupils.attendance_pct;
    const row = (r, className = "") => el("tr", { className },
      rowHead(r.label), numCell(count(r.pupils)), numCell(count(r.possible_sessions)), numCell(pctNode(r.attendance_pct)),
      numCell(pctNode(r.authorised_absence_pct)), numCell(pctNode(r.unauthorised_absence_pct)),
      numCell(count(r.persistent_absentees)), numCell(pctNode(r.persistent_absence_pct)),
      numCell(count(r.severe_absentees)), numCell(pctNode(r.severe_absence_pct)),
      el("td", { className: "barcell" }, bar(r.attendance_pct, average)));
    return el("div", { className: "scroll" }, el("table", {},
      el("caption", { className: "sr-only", textContent: caption }),
      el("thead", {}, headRow([by, ["Pupils", "num"], ["Possible sessions", "num"], ["Attendance", "num"], ["Authorised", "num", "absence"],
        ["Unauthorised", "num", "absence"], ["Persistent", "num", "10%+ missed"], ["%", "num"], ["Severe", "num", "50%+ missed"], ["%", "num"],
        ["vs All Pupils", "", "orange dashed line: All Pupils"]])),
      el("tbody", {}, row(allPupils, "all"), rows.map((r) => row(r)))));
  }
  const ATTENDANCE_PATH = "/v1/reports/attendance";
  async function loadAttendance(p) {
    const params = { academic_year: state.year, ...windowQuery(p), by: p.by, ...cohortQuery(p), ...filterQuery() };
    if (p.pupils !== "show" || state.pupilsRefused) return { report: await api(ATTENDANCE_PATH, params), refused: p.pupils === "show" };
    try {
      return { report: await api(ATTENDANCE_PATH, { ...params, pupils: "true" }) };
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 403) throw error;
      const report = await api(ATTENDANCE_PATH, params);  // without pupils:read the list is refused; the figures are not
      state.pupilsRefused = true;
      return { report, refused: true };
    }
  }
  function renderAttendance({ report: data, refused }, p) {
    const by = labelOf(GROUPINGS, p.by);
    return [card(`Attendance · by ${by.toLowerCase()}`, `${windowName(data.window)}, ${data.academic_year}`,
      attendanceTable(data.rows, data.all_pupils, `Attendance by ${by}, All Pupils first`, by),
      el("p", { className: "lede", textContent: nationalNote(data.national) })), absenteesCard(data, p, refused)];
  }
  // The persistent absentees of the window (90% attendance or below), for roles that may see pupils.
  function absenteesCard(data, p, refused) {
    const showing = p.pupils === "show";
    const toggle = el("button", { type: "button", className: showing ? "secondary" : "", textContent: showing ? "Hide pupils" : "Show pupils below 90%" });
    toggle.addEventListener("click", () => {
      state.pupilList = { query: "", all: false };
      go(state.view.path, { ...p, pupils: showing ? "" : "show" });
    });
    const out = [el("div", { className: "toolbar" }, toggle)];
    if (showing && refused) {
      out.push(message("Your role does not include access to pupil-level data, so only the figures above are shown. "
        + "If you need the list of pupils, please ask your Trust's Tidemark administrator."));
    } else if (showing && data.pupils) {
      const pupils = data.pupils;
      const filter = (name) => FILTERS.find((f) => f.name === name);
      out.push(el("p", { className: "lede" }, `${count(pupils.length)} pupil${pupils.length === 1 ? "" : "s"} at or below 90% attendance, `
        + `${windowName(data.window)} ${data.academic_year}. Each school and year group on its own sessions; lowest attendance first; `
        + "characteristics are the pupils' current ones."));
      if (pupils.length) {
        out.push(...pupilList(pupils, [["Pupil", (u) => u.pupil_id], ["School", (u) => u.school],
          ["Year group", (u) => yearGroupName(u.year_group), (u) => u.year_group], ["Sex", (u) => labelOf(filter("sex").options(), u.sex)],
          ["Disadvantaged", (u) => (u.disadvantaged ? "Yes" : "No")], ["SEN", (u) => labelOf(filter("sen").options(), u.sen)],
          [["Possible sessions", "num"], (u) => count(u.possible_sessions), (u) => u.possible_sessions],
          [["Missed", "num"], (u) => count(u.absent_sessions), (u) => u.absent_sessions],
          [["Attendance", "num"], (u) => (missing(u.attendance_pct) ? "" : pct(u.attendance_pct)), (u) => u.attendance_pct],
          ["Severe", (u) => (u.severe ? "Yes" : "")]], "Pupils at or below 90% attendance"));
      }
    } else {
      out.push(el("p", { className: "lede", textContent: "The persistent absentees behind these figures can be listed (roles with access to pupil-level data only)." }));
    }
    return card("Pupils below 90%", "persistent absentees: missed 10% or more of their possible sessions, in the current filters", ...out);
  }
  // Attainment of the persistent and severe absentees and the rest, each pupil on their own sessions in the period.
  function renderAttendanceAttainment(data) {
    const average = data.all_pupils.pct;
    const row = (r, className = "") => el("tr", { className },
      rowHead(r.label), numCell(count(r.n)), numCell(count(r.at_or_above)), numCell(groupPct(r)),
      el("td", { className: "barcell" }, bar(r.pct, average)));
    return card(`${data.label} · by attendance`, `% at or above ARE, ${periodLong(data)}`,
      el("p", { className: "lede", textContent: "Pupils with a result in the period, by their own attendance in the same period "
        + "(every school they were registered at): persistent absentees missed 10% or more of their possible sessions, severe "
        + "absentees 50% or more (they are also persistent absentees)." }),
      el("div", { className: "scroll" }, el("table", {},
        el("caption", { className: "sr-only", textContent: `${data.label}: % at or above by attendance, All Pupils first` }),
        el("thead", {}, headRow(["Attendance", ["Pupils assessed", "num"], ["At or above", "num"], ["% at or above", "num"],
          ["vs All Pupils", "", "orange dashed line: All Pupils"]])),
        el("tbody", {}, row(data.all_pupils, "all"), data.rows.map((r) => row(r))))));
  }
  function renderAttendanceCodes(data, p) {
    const by = labelOf(GROUPINGS, p.by);
    const block = (r) => card(r.label, `${count(r.possible_sessions)} possible sessions`,
      el("div", { className: "scroll" }, el("table", {},
        el("thead", {}, headRow(["Code", "Meaning", "Category", ["Sessions", "num"], ["% of possible", "num"], ["National", "num"]])),
        el("tbody", {}, r.codes.map((c) => el("tr", {}, rowHead(c.code), el("td", { textContent: c.meaning }),
          el("td", { textContent: c.category.replace("_", " ") }), numCell(count(c.sessions)), numCell(pctNode(c.pct_of_possible)),
          numCell(c.national_pct === null ? "–" : `${c.national_pct}%`)))))));
    return [el("p", { className: "lede", textContent: `Sessions per register code by ${by.toLowerCase()}, ${windowName(data.window)} ${data.academic_year}.` }),
      block(data.all_pupils), ...data.rows.map(block)];
  }
  function renderAttendanceTrend(data, p) {
    const by = labelOf(GROUPINGS, p.by);
    const asSeries = (points, pick) => points.map((q) => {
      const figures = pick(q);
      return { academic_year: q.academic_year, period: q.window, pct: figures ? figures.attendance_pct : null, n: figures ? figures.pupils : null };
    });
    const periods = data.periods.map((q) => ({ academic_year: q.academic_year, period: q.window }));
    const groups = [...new Map(data.periods.flatMap((q) => q.rows.map((r) => [r.group, r.label]))).entries()];
    // A point opens the attendance report for its period (and group).
    const params = { window: "", by: p.by, reception: p.reception };
    const open = (group, i) => {
      const at = { ...params, window: periods[i].period };
      return group === "all" ? hashFor("/reports/attendance", at, { year: periods[i].academic_year })
        : groupHref("/reports/attendance", at, p.by, group, { year: periods[i].academic_year });
    };
    const hover = (line, v, period) => (missing(v.pct) ? `${line.label} · ${periodLong(period)}: no data`
      : `${line.label} · ${periodLong(period)}\n${pct(v.pct)} attendance${missing(v.n) ? "" : ` · ${count(v.n)} pupils`}`);
    const lines = [{ key: "att-all", label: "All Pupils", color: COLOURS.allPupils, dashed: true, hover,
      values: asSeries(data.periods, (q) => q.all_pupils), href: (i) => open("all", i) },
    ...groups.map(([group, label], i) => ({ key: `att:${group}`, label, color: COLOURS.series[i % COLOURS.series.length], hover,
      values: asSeries(data.periods, (q) => q.rows.find((r) => r.group === group)), href: (k) => open(group, k) }))];
    const gapRows = ["disadvantaged", "sen", "sen_ehc_plan"].map((gap) => el("tr", {}, rowHead(gap.replace(/_/g, " ")),
      data.periods.map((q) => { const g = q.gaps.find((x) => x.gap === gap); return numCell(missing(g?.absence_pct) ? nodata() : points(g.absence_pct)); })));
    const weekly = el("table", { className: "sticky" }, el("thead", {}, headRow(["Week", ["Attendance", "num"], ["Persistent", "num"]])),
      el("tbody", {}, data.weeks.filter((q) => q.all_pupils.possible_sessions).map((q) => el("tr", {}, rowHead(`${q.window} (${shortYear(q.academic_year)})`),
        numCell(pctNode(q.all_pupils.attendance_pct)), numCell(pctNode(q.all_pupils.persistent_absence_pct))))));
    return [card(`Attendance per period · by ${by.toLowerCase()}`, `${periods[0]?.academic_year ?? ""} – ${data.academic_year}`,
      chartWithLegend(periods, lines, { title: `Attendance % per period · by ${by.toLowerCase()}`,
        description: `Line chart of attendance % per period by ${by.toLowerCase()}. Select a point to open the attendance report for that period.` })),
      card("Absence gaps", "absence % of the group less the others' (points), per period",
        el("div", { className: "scroll" }, el("table", { className: "sticky" }, el("thead", {}, headRow(["Gap", ...periods.map((q) => [periodShort(q), "num"])])),
          el("tbody", {}, gapRows)))),
      card("Weeks", "All Pupils, every school week with marks", el("div", { className: "scroll" }, weekly))];
  }
  function renderAttendanceDashboard(data) {
    const tile = (name, t, changeText) => el("div", { className: "tile" },
      el("div", { className: "name", textContent: name }),
      el("div", { className: "pct" }, t ? pctNode(t.figures.attendance_pct) : nodata()),
      el("div", { className: "n", textContent: t ? `${count(t.figures.pupils)} pupils · persistent ${t.figures.persistent_absence_pct === null ? "–" : pct(t.figures.persistent_absence_pct)}` : "" }),
      el("div", { className: "n", textContent: changeText || (t && t.national?.absence_pct ? `National absence ${t.national.absence_pct.value}%` : "") }));
    const change = data.change_since_last_week;
    const tiles = el("div", { className: "tiles" },
      tile(data.week ? `This week (${data.week})` : "This week", data.this_week, missing(change) ? "" : `${points(change)} since last week`),
      tile(data.period ? termName(data.period) : "This period", data.this_period),
      tile("Year to date", data.year_to_date));
    const gaps = el("div", { className: "tiles" }, data.gaps.map((g) => el("div", { className: "tile gap" },
      el("div", { className: "name", textContent: `Absence gap: ${g.gap.replace(/_/g, " ")}` }),
      el("div", { className: "pct" }, missing(g.absence_pct) ? nodata() : points(g.absence_pct)))));
    return [card("Attendance", `${data.academic_year}`, tiles, el("p", { className: "lede", textContent: nationalNote(data.year_to_date.national) })),
      card("Gaps", "year to date", gaps),
      card("Schools ranked", "year-to-date attendance", attendanceTable(data.schools, data.year_to_date.figures, "Schools by attendance", "School"))];
  }

  // ---- Diminishing the Difference ----
  function renderGaps(data, p) {
    const periods = data.series.map((s) => ({ academic_year: s.academic_year, period: s.period }));
    // A point opens the group's report (the subject's, filtered to the group) for its period.
    const [path, params] = measureReport(data.subject);
    const open = (group) => (i) => groupHref(path, params, p.gap, group, atPeriod(periods[i]));
    const lines = [
      { key: `gap:${data.first.group}`, label: data.first.label, color: COLOURS.pair[0], values: data.series.map((s) => s.first), href: open(data.first.group) },
      { key: `gap:${data.second.group}`, label: data.second.label, color: COLOURS.pair[1], values: data.series.map((s) => s.second), href: open(data.second.group) },
    ];
    const subject = measureLabel(data.subject);
    const trend = (s) => {
      if (missing(s.gap)) return nodata();
      if (s.widening === true) return el("span", { className: "trend wider", textContent: "▲ Widening" });
      if (s.widening === false) {
        const steady = Math.abs(s.gap) === Math.abs(s.previous_gap);
        return el("span", { className: "trend narrower", textContent: steady ? "Steady" : "▼ Narrowing" });
      }
      return el("span", { className: "trend unknown", textContent: "no comparison" });
    };
    const figure = (f) => numCell(f.pct === null ? nodata()
      : [pct(f.pct), el("small", { textContent: ` (${count(f.n)})` }), f.small_group ? smallMark() : null]);
    const widen = (s) => (s.widening === true ? "wider" : s.widening === false ? "narrower" : "unknown");
    const rows = data.series.map((s) => el("tr", {},
      rowHead(periodLong(s)), figure(s.first), figure(s.second),
      numCell(s.gap === null ? nodata() : points(s.gap)),
      el("td", { className: `num trend ${widen(s)}` }, missing(s.gap) ? nodata() : s.display),
      el("td", {}, trend(s))));
    return [
      card(`${data.first.label} and ${data.second.label} · ${subject}`, `% at or above, ${periods[0]?.academic_year ?? ""} – ${data.academic_year}`,
        chartWithLegend(periods, lines, { height: 320, title: `${data.first.label} and ${data.second.label}: ${subject} % at or above per period`,
          description: `Line chart of ${data.first.label} and ${data.second.label} % at or above per period. Select a point to open that group's report for its period; the table below has every figure.` })),
      card("The gap per period", `${data.first.label} − ${data.second.label}, in percentage points; each period compares with the one before`,
        el("p", { className: "lede", textContent: "Widening (red) when the gap's size grew, whichever way it points; narrowing (green) when it shrank." }),
        el("div", { className: "scroll" }, el("table", {},
          el("caption", { className: "sr-only", textContent: `Diminishing the Difference per period, ${subject}` }),
          el("thead", {}, headRow(["Period", [`${data.first.label}`, "num", "% (pupils)"], [`${data.second.label}`, "num", "% (pupils)"],
            ["Gap", "num"], ["Change", "num"], "Trend"])),
          el("tbody", {}, rows)))),
    ];
  }

  // ---- Data Completion ----
  function renderCompletion(data, p) {
    const schools = [];
    for (const r of data.rows) {
      let school = schools[schools.length - 1];
      if (!school || school.id !== r.school_id) schools.push(school = { id: r.school_id, name: r.school, rows: [] });
      school.rows.push(r);
    }
    const total = data.rows.length;
    const done = data.rows.filter((r) => r.complete).length;
    const missing = data.rows.reduce((sum, r) => sum + r.missing, 0);
    // Leavers' entries (more entered than on roll today) are not missing results: counted apart, never incomplete.
    const leavers = data.rows.reduce((sum, r) => sum + (r.left || 0), 0);
    const leaversOnly = data.rows.filter((r) => r.status === "leavers_only").length;
    const onlyIncomplete = p.show === "incomplete";
    const defaultOpen = schools.length <= 2;
    const sections = schools.map((school) => {
      const complete = school.rows.filter((r) => r.complete).length;
      const counted = school.rows.filter((r) => r.status !== "leavers_only").length;
      const shown = onlyIncomplete ? school.rows.filter((r) => r.status === "incomplete") : school.rows;
      const body = [];
      let lastYear = null;
      for (const r of shown) {
        const first = r.year_group !== lastYear;
        lastYear = r.year_group;
        const left = r.left || 0;
        body.push(el("tr", { className: `${r.complete ? "complete" : r.status === "leavers_only" ? "leavers" : ""}${first ? " yg-start" : ""}` },
          // Every row names its year group (shown on the first row of each, read out on all): no empty header cell.
          el("th", { scope: "row" }, first ? yearGroupName(r.year_group) : el("span", { className: "sr-only", textContent: yearGroupName(r.year_group) })),
          el("td", {}, r.label, r.subject !== r.label && /^E\d\d$/.test(r.subject) ? el("small", { textContent: ` ${r.subject}` }) : null),
          el("td", { className: "num fig", textContent: count(r.on_roll) }),
          el("td", { className: "num fig", textContent: count(r.entered) }),
          el("td", { className: "num fig", textContent: count(r.locked) }),
          el("td", { className: "num fig" }, r.missing ? el("strong", { textContent: count(r.missing) }) : "0"),
          el("td", { className: "num fig leavers-cell", title: left ? "Entries of pupils who have left since: not missing results" : "" },
            left ? count(left) : nodata("–")),
          el("td", { className: "state", textContent: r.complete ? (left ? "✓ Complete (leavers' entries apart)" : "✓ Complete")
            : r.status === "leavers_only" ? "Leavers only: nobody on roll now" : r.on_roll === 0 ? "Nobody on roll"
              : `${count(r.missing)} missing` })));
      }
      const details = el("details", { className: "school", open: state.openSchools.get(school.id) ?? defaultOpen });
      details.addEventListener("toggle", () => state.openSchools.set(school.id, details.open));
      const bar = el("span", { className: "progress", ariaHidden: "true" }, el("span"));
      bar.firstChild.style.width = `${counted ? (100 * complete) / counted : 0}%`;
      details.append(
        el("summary", {}, el("h3", { textContent: school.name }), bar,
          el("span", { textContent: `${complete} of ${counted} complete` })),
        el("div", { className: "inner" }, body.length
          ? el("div", { className: "scroll" }, el("table", { className: "no-sort" }, // grouped by year group: kept in order
            el("caption", { className: "sr-only", textContent: `Data completion, ${school.name}` }),
            el("thead", {}, headRow(["Year group", "Subject", ["On roll", "num", "today"], ["Entered", "num", "draft or locked"],
              ["Locked", "num"], ["Missing", "num", "still to enter"], ["Leavers", "num", "entered, left since"], "State"])),
            el("tbody", {}, body)))
          : el("p", {}, nodata("Every year group and subject is complete."))));
      return details;
    });
    const expand = el("button", { type: "button", className: "secondary", textContent: "Expand all" });
    const collapse = el("button", { type: "button", className: "secondary", textContent: "Collapse all" });
    const setAll = (open) => { for (const d of $("view").querySelectorAll("details.school")) d.open = open; };
    expand.addEventListener("click", () => setAll(true));
    collapse.addEventListener("click", () => setAll(false));
    return card("Entries against the roll", `${periodLong(data)} · by school, year group and subject`,
      el("p", { className: "lede" }, `${done} of ${total - leaversOnly} year group subjects complete; ${count(missing)} results missing`,
        leavers ? `; ${count(leavers)} entries of pupils who have left since (leavers: not missing, not counted against completion)` : "",
        ". Green: every pupil on roll today has a result entered. On roll is today's roll, whatever the period."),
      el("div", { className: "toolbar" }, expand, collapse),
      sections.length ? sections : el("p", {}, nodata("No school has pupils on roll or results in this selection.")));
  }

  // ---- live notices: one stream for the page, by fetch (EventSource cannot send an Authorization header) ----
  function setLive(on) {
    $("live").classList.toggle("on", on);
    $("live-text").textContent = on ? "Live" : "Reconnecting…";
  }

  async function follow() {
    if (state.following) return;
    state.following = true;
    let retryMs = 3000;
    try {
      for (;;) {
        try {
          const headers = {};
          if (state.lastEventId) headers["Last-Event-ID"] = state.lastEventId;
          const response = await fetch("/v1/live", { headers, credentials: "same-origin" });
          if (response.status === 401 || response.status === 403) throw new Unauthorised();
          if (!response.ok || !response.body) throw new Error(`live: ${response.status}`);
          setLive(true);
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value.replace(/\r\n?/g, "\n");
            let end;
            while ((end = buffer.indexOf("\n\n")) >= 0) {
              const event = parse(buffer.slice(0, end));
              buffer = buffer.slice(end + 2);
              if (event.retry) retryMs = event.retry;
              if (event.id) state.lastEventId = event.id;
              if (event.event === "change") {
                if (namesNewSchools(event.data)) refreshSchools();
                refreshSoon(); // any change moves "Last updated"
              }
            }
          }
        } catch (error) {
          if (error instanceof Unauthorised) { setLive(false); handle(error); return; }
        }
        setLive(false);
        await new Promise((resolve) => setTimeout(resolve, retryMs));
      }
    } finally {
      state.following = false;
    }
  }

  // A school registered or changed ("schools"), a rebuild ("*"), or a school this page has not heard
  // of: the school filter must list it now, not after a reload (By School rows come with each refresh).
  function namesNewSchools(data) {
    let notice;
    try { notice = JSON.parse(data); } catch { return false; }
    const known = new Set(state.schools.map((s) => s.school_id));
    return (notice.measures || []).some((m) => m === "schools" || m === "*")
      || (notice.schools || []).some((id) => !known.has(id));
  }

  async function refreshSchools() {
    try {
      [state.schools, state.classes] = await Promise.all([api("/v1/schools", {}, true), api("/v1/classes", {}, true)]);
    } catch (error) {
      if (error instanceof Unauthorised) handle(error);
      return; // otherwise the next notice tries again
    }
    buildFilters();
    if (state.view) syncFilters();
  }

  function parse(block) {
    const event = { data: "" };
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const name = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (name === "data") event.data += (event.data ? "\n" : "") + value;
      else if (name === "retry") event.retry = Number(value) || 0;
      else event[name] = value;
    }
    return event;
  }

  // ---- start ----
  function buildNav() {
    const nodes = [];
    let section = null;
    let list = null;
    for (const view of VIEWS) {
      if (view.section !== section) {
        section = view.section;
        nodes.push(el("div", { className: "group", textContent: section }));
        list = el("ul");
        nodes.push(list);
      }
      const a = el("a", { href: `#${view.path}`, textContent: view.nav });
      a.dataset.path = view.path;
      list.append(el("li", {}, a));
    }
    $("nav").replaceChildren(...nodes);
  }

  function fillSelect(select, values, chosen) {
    select.replaceChildren(...values.map((v) => el("option", { value: v, textContent: v, selected: v === chosen })));
  }

  async function start() {
    const me = await Accounts.loadMe();
    if (!me) { Accounts.signIn(); return; }
    if (Accounts.mustChangePassword()) { route(); return; }
    Entry.addNav();
    Accounts.addExtraNav(); // imports.js's Import page, in the Entry group
    state.pupilsRefused = false; // a new sign-in may see pupils
    try {
      const [calendar, schools, categories, classes] = await Promise.all([api("/v1/calendar", {}, true),
        api("/v1/schools", {}, true), api("/v1/progress-categories", {}, true), api("/v1/classes", {}, true)]);
      const opening = calendar.latest_with_data || calendar.current;
      state.calendar = calendar;
      state.schools = schools;
      state.classes = classes;
      state.defaultYear = opening.academic_year;
      state.defaultPeriod = opening.period;
      // The statutory pages open on the latest year with statutory results (this year's arrive in the summer).
      state.statutoryYear = calendar.latest_statutory_year || state.defaultYear;
      CATEGORIES.splice(0, CATEGORIES.length, ...categories.map((c) => [c.category, c.label]));
      LEVELS.splice(1, LEVELS.length - 1, ...CATEGORIES);
      fillSelect($("year"), [...calendar.academic_years].reverse(), state.defaultYear);
      $("period").replaceChildren(...calendar.periods.map((v) => el("option", { value: v, textContent: `${v} (${termName(v)})` })));
      buildFilters();
    } catch (error) {
      if (error instanceof Unauthorised) return handle(error);
      return showError(error.message || String(error));
    }
    showError("");
    $("app").classList.remove("hidden");
    route();
    follow();
  }

  applyPalette();
  buildNav();
  // Phones: the menu and the filters fold away so that the first figure is near the top.
  const phone = window.matchMedia("(max-width: 880px)");
  const fold = (button, target, open) => {
    button.setAttribute("aria-expanded", String(open));
    target.classList.toggle("folded", !open);
  };
  fold($("menu-toggle"), $("nav"), !phone.matches);
  fold($("filters-toggle"), $("filter-body"), !phone.matches);
  $("menu-toggle").addEventListener("click", () => fold($("menu-toggle"), $("nav"), $("menu-toggle").getAttribute("aria-expanded") !== "true"));
  $("filters-toggle").addEventListener("click", () => fold($("filters-toggle"), $("filter-body"), $("filters-toggle").getAttribute("aria-expanded") !== "true"));
  // Choosing a page from the folded menu closes it again.
  $("nav").addEventListener("click", (e) => { if (phone.matches && e.target.closest("a")) fold($("menu-toggle"), $("nav"), false); });
  phone.addEventListener("change", () => { fold($("menu-toggle"), $("nav"), !phone.matches); fold($("filters-toggle"), $("filter-body"), !phone.matches); });
  for (const heading of document.querySelectorAll("#page-dashboard h3[data-help]")) {
    const help = info(heading.dataset.help.split(" "), heading.firstChild.textContent.trim());
    const more = heading.querySelector(".more");
    heading.insertBefore(help.button, more);
    heading.after(help.panel);
  }
  $("measure").replaceChildren(...optionNodes(DASHBOARD_MEASURES, "reading"));
  // Download: the gateway writes the file (format=csv|xlsx: the JSON's rows, with the filters and last update).
  async function download(format) {
    if (!state.exported) return;
    const { path, params } = state.exported;
    try {
      const response = await fetch(`${path}?${query({ ...params, format })}`, { credentials: "same-origin" });
      if (!response.ok) throw new ApiError(response.status, describe(response.status, await response.text()));
      const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
      saveFile(await response.blob(), name ? name[1] : `tidemark.${format}`);
    } catch (error) {
      handle(error);
    }
  }
  $("export-csv").addEventListener("click", () => download("csv"));
  $("export-xlsx").addEventListener("click", () => download("xlsx"));
  $("year").addEventListener("change", (e) => go(state.view.path, state.params, { year: e.target.value }));
  $("period").addEventListener("change", (e) => go(state.view.path, state.params, { period: e.target.value }));
  $("measure").addEventListener("change", (e) => go("/", { ...state.params, measure: e.target.value }));
  window.addEventListener("hashchange", route);
  // Close an open filter menu on a click elsewhere or Escape.
  document.addEventListener("click", (e) => {
    for (const d of document.querySelectorAll("details.dropdown[open]")) if (!d.contains(e.target)) d.open = false;
  });
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    for (const button of document.querySelectorAll("button.info[aria-expanded=\"true\"]")) {
      button.setAttribute("aria-expanded", "false");
      $(button.getAttribute("aria-controls")).classList.add("hidden");
      button.focus();
    }
    for (const d of document.querySelectorAll("details.dropdown[open]")) {
      d.open = false;
      d.querySelector("summary").focus();
    }
  });
  start();
})();
