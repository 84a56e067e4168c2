"use strict";
// The Entry pages (people whose role may write to their schools: `tracker:write`): a grid of pupils x
// subjects (summative) or pupils x components (statutory) read back from ingest, typed into or pasted
// into, saved as drafts while typing, then locked or unlocked. Every request goes through the gateway's
// forward to ingest (`/ingest/...`), with the session cookie and its CSRF token, so every save and lock
// is ingest's own API call (events, audit trail, dashboards follow). The rules are ingest's: what a cell
// may hold is decided by ingest's answer to the save (a 422 names the row, field and reason, shown red
// on the cell at once); the codes, their labels and meanings come from ingest's sheet and code table.
// The sheet's selection (school, year, period, year group, class, subject) is the scope its Lock and
// Unlock send, so the buttons lock what the grid shows; each result's assessment date is shown.
(() => {
  const Accounts = window.TidemarkAccounts;
  const $ = (id) => document.getElementById(id);
  const el = (tag, props = {}, ...children) => {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
    return node;
  };
  const INGEST = "/ingest";
  const SAVE_AFTER_MS = 500; // a pause in typing this long saves the changed cells (drafts)
  const YEAR_GROUPS = [["R", "Reception"], ["Y1", "Year 1"], ["Y2", "Year 2"], ["Y3", "Year 3"], ["Y4", "Year 4"],
    ["Y5", "Year 5"], ["Y6", "Year 6"]];
  const ASSESSMENTS = [["ks2", "End of Key Stage 2"], ["ks1", "End of Key Stage 1"], ["eyfs", "EYFS profile"],
    ["phonics", "Phonics screening check"], ["mtc", "Multiplication tables check"]];
  const SUBJECT_LABELS = { reading: "Reading", writing: "Writing", maths: "Mathematics", science: "Science", pe: "PE",
    pshe: "PSHE", re: "RE" };
  const subjectLabel = (s) => SUBJECT_LABELS[s] || `${s.charAt(0).toUpperCase()}${s.slice(1).replace(/_/g, " ")}`;
  const STATE_LABELS = { draft: "entered, not locked", locked: "locked", changed: "changed since locked" };
  const PAGES = { "/entry/summative": summativePage, "/entry/statutory": statutoryPage };
  let context = null; // { calendar, schools } from the app
  let current = null; // the open sheet: { kind, scope, cells: Map(key -> cell), pending: Set, timer }
  let opened = 0; // each page opened counts: an answer for a page since left is dropped
  let chosenDate = { year: "", day: "" }; // an assessment date chosen on the page, and its academic year

  const may = () => Boolean(Accounts.me() && Accounts.me().permissions.includes("tracker:write"));
  const note = (text, kind = "") => el("div", { className: `message ${kind}`, role: kind === "error" ? "alert" : "status", textContent: text });

  function addNav() {
    if (!may() || $("nav-entry")) return;
    const list = el("ul", { id: "nav-entry" },
      ...[["/entry/summative", "Summative entry"], ["/entry/statutory", "Statutory entry"]]
        .map(([path, label]) => el("li", {}, el("a", { href: `#${path}`, textContent: label }))));
    $("nav").append(el("div", { className: "group", textContent: "Entry" }), list);
  }

  // ---- the page ----
  function frame(title, ...children) {
    const box = $("entry");
    box.replaceChildren(el("h2", { className: "page-title", id: "entry-title", textContent: title, tabIndex: -1 }), ...children);
    box.classList.remove("hidden");
    document.title = `Tidemark · ${title}`;
    $("page-sub").textContent = title;
    for (const link of $("nav").querySelectorAll("a")) {
      if (link.getAttribute("href") === location.hash.split("?")[0]) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  }

  const option = ([value, label], chosen) => el("option", { value, textContent: label, selected: value === chosen });
  function choice(label, options, chosen, id) {
    const select = el("select", { id }, ...options.map((o) => option(o, chosen)));
    return { select, label: el("label", {}, label, select) };
  }

  // The caller's schools, named as the dashboards name them; a school of the caller's not there yet
  // (the read model has not caught up with a school just created) by its id.
  function writableSchools() {
    const me = Accounts.me();
    const named = context.schools.filter((s) => !me.schools || me.schools.includes(s.school_id))
      .map((s) => [s.school_id, s.name]);
    const unnamed = (me.schools || []).filter((id) => !named.some(([known]) => known === id)).map((id) => [id, id]);
    return [...named, ...unnamed];
  }

  function describe(answer) {
    const d = answer.data && answer.data.detail;
    const errors = answer.data && answer.data.errors;
    if (Array.isArray(errors) && errors.length) return errors.map((e) => `${e.field}: ${e.reason}`).join("; ");
    if (Array.isArray(d)) return d.map((e) => `${(e.loc || []).filter((p) => p !== "body" && p !== "query").join(" › ")}: ${String(e.msg || "").replace(/^Value error, /, "")}`).join("; ");
    return d || `HTTP ${answer.status}`;
  }

  // The selection is kept in the URL fragment, so a reload or a shared link opens the same sheet.
  function selection(params, fields) {
    const out = {};
    for (const [name, options, fallback] of fields) {
      const value = params.get(name);
      out[name] = options.some(([v]) => v === value) ? value : fallback;
    }
    return out;
  }

  function controls(fields, chosen, onChange) {
    const row = el("div", { className: "controls", role: "group", ariaLabel: "Which results" });
    const selects = {};
    for (const [name, label, options] of fields) {
      const { select, label: wrapped } = choice(label, options, chosen[name], `entry-${name.replace("_", "-")}`);
      select.addEventListener("change", () => onChange({ ...chosen, [name]: select.value }));
      selects[name] = select;
      row.append(wrapped);
    }
    return { row, selects };
  }

  function summativePage(params) {
    const schools = writableSchools();
    const years = [...context.calendar.academic_years].reverse().map((y) => [y, y]);
    const periods = context.calendar.periods.map((p) => [p, p]);
    const opening = context.calendar.current || {};
    const chosen = selection(params, [["school_id", schools, schools.length ? schools[0][0] : ""],
      ["academic_year", years, opening.academic_year || years[0][0]], ["period", periods, opening.period || periods[0][0]],
      ["year_group", [["", "All year groups"], ...YEAR_GROUPS], params.has("year_group") ? "" : "Y1"],
      ["subject", [["", "All subjects"], ...Object.entries(SUBJECT_LABELS)], ""]]);
    chosen.class_id = params.get("class_id") || "";
    // The class selector lists the classes of the year that teach the year group (from the sheet:
    // `classesOf`), after "All classes".
    const fields = [["school_id", "School", schools], ["academic_year", "Academic year", years],
      ["period", "Assessment period", periods], ["year_group", "Year group", [["", "All year groups"], ...YEAR_GROUPS]],
      ["class_id", "Class", [["", "All classes"]]],
      ["subject", "Subject", [["", "All subjects"], ...(chosen.year_group === "R" ? [] : Object.entries(SUBJECT_LABELS))]]];
    const { row } = controls(fields, chosen, (next) => { location.hash = `#/entry/summative?${new URLSearchParams(clean(next))}`; });
    row.append(dateChoice(chosen.academic_year));
    const body = el("div", { id: "entry-body" }, note("Loading…"));
    frame("Summative entry", row, body);
    if (!schools.length) { body.replaceChildren(note("You may not enter results for any school.", "error")); return; }
    openSummative(chosen, body);
  }

  function statutoryPage(params) {
    const schools = writableSchools();
    const years = [...context.calendar.academic_years].reverse().map((y) => [y, y]);
    const opening = context.calendar.current || {};
    const chosen = selection(params, [["school_id", schools, schools.length ? schools[0][0] : ""],
      ["academic_year", years, opening.academic_year || years[0][0]], ["assessment", ASSESSMENTS, "ks2"],
      ["view", [["grid", "Enter results"], ["summary", "Summary"]], "grid"]]);
    chosen.class_id = params.get("class_id") || "";
    const fields = [["school_id", "School", schools], ["academic_year", "Academic year", years],
      ["assessment", "Assessment", ASSESSMENTS], ["class_id", "Class", [["", "All classes"]]],
      ["view", "View", [["grid", "Enter results"], ["summary", "Summary"]]]];
    const { row } = controls(fields, chosen, (next) => { location.hash = `#/entry/statutory?${new URLSearchParams(clean(next))}`; });
    row.append(dateChoice(chosen.academic_year));
    const body = el("div", { id: "entry-body" }, note("Loading…"));
    frame("Statutory entry", row, body);
    if (!schools.length) { body.replaceChildren(note("You may not enter results for any school.", "error")); return; }
    openStatutory(chosen, body);
  }

  // Empty choices are left out, except "All year groups", kept so a reload does not fall back to Year 1.
  const clean = (chosen) => Object.fromEntries(Object.entries(chosen).filter(([k, v]) => v || k === "year_group"));

  // The assessment date of this page's saves. It shows ingest's default (today; for an earlier
  // academic year, its last day) and is sent only once changed, for that academic year; ingest
  // refuses a date in the future or outside the entry's academic year, on the cell.
  const assessedOn = (academicYear) => (chosenDate.year === academicYear ? chosenDate.day : "");
  function dateChoice(academicYear) {
    const start = Number(academicYear.slice(0, 4));
    const now = new Date();
    const today = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}-${String(now.getDate()).padStart(2, "0")}`;
    const end = `${start + 1}-08-31`;
    const latest = end < today ? end : today;
    const input = el("input", { type: "date", id: "entry-assessed-on", value: assessedOn(academicYear) || latest,
      min: `${start}-09-01`, max: latest, required: true });
    input.addEventListener("change", () => { chosenDate = { year: academicYear, day: input.value === latest ? "" : input.value }; });
    return el("label", {}, "Assessment date", input);
  }

  // The class selector: the sheet's classes of its academic year that teach the year group chosen
  // (`classes: [{class_id, name, year_groups}]`). The sheet itself is the class's when one is chosen.
  function classesOf(sheet, chosen) {
    const select = $("entry-class-id");
    const classes = (sheet.classes || []).filter((c) => !chosen.year_group || !c.year_groups || c.year_groups.includes(chosen.year_group));
    if (select) select.append(...classes.map((c) => option([c.class_id, c.name], chosen.class_id)));
  }

  const dayOf = (iso) => new Date(`${iso}T00:00:00`).toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric" });
  // A pupil's assessment dates in the sheet, as the grid's last column shows them (one date, or the range).
  function datesOf(pupilId, values) {
    const days = [...values.entries()].filter(([k, v]) => k.startsWith(`${pupilId}|`) && v.assessed_on)
      .map(([, v]) => v.assessed_on).sort();
    if (!days.length) return "";
    return days[0] === days[days.length - 1] ? dayOf(days[0]) : `${dayOf(days[0])} – ${dayOf(days[days.length - 1])}`;
  }
  function assessedCell(pupilId, values) {
    const td = el("td", { className: "assessed", textContent: datesOf(pupilId, values) });
    td.dataset.pupil = pupilId;
    return td;
  }
  const titleOf = (stored) => (stored ? `${STATE_LABELS[stored.state]}${stored.assessed_on ? `, assessed ${dayOf(stored.assessed_on)}` : ""}`
    : "not entered");

  // ---- reading the sheet ----
  async function openSummative(chosen, body) {
    // The sheet's selection is the lock's scope: what the grid shows is what Lock locks.
    const scope = clean({ school_id: chosen.school_id, academic_year: chosen.academic_year, period: chosen.period,
      year_group: chosen.year_group, class_id: chosen.class_id, subject: chosen.subject });
    if (!scope.year_group) delete scope.year_group;
    const mine = opened;
    const answer = await Accounts.call("GET", `${INGEST}/v1/entry/summative?${new URLSearchParams(scope)}`);
    if (mine !== opened) return; // another page (or selection) was opened meanwhile
    if (!answer.ok) { body.replaceChildren(note(`The results could not be read: ${describe(answer)}`, "error")); return; }
    const sheet = answer.data;
    classesOf(sheet, chosen);
    const model = sheet.assessment_model;
    // What a cell may hold, as ingest's sheet names it: the school's model's codes, or the bands.
    const allowed = model ? model.codes.map((c) => c.code) : sheet.bands;
    const takes = sheet.subjects_by_year_group;
    const columns = sheet.subjects.map((subject) => ({ key: subject, label: subjectLabel(subject),
      takes: (pupil) => (takes[pupil.year_group] || []).includes(subject) }));
    const cellOf = (r) => ({ text: model ? r.code || "" : r.band, state: r.state, assessed_on: r.assessed_on });
    const values = new Map(sheet.results.map((r) => [`${r.pupil_id}|${r.subject}`, cellOf(r)]));
    const key = el("details", { className: "info-key" }, el("summary", { textContent: "Information key" }),
      model ? el("p", { textContent: `${sheet.school_name} assesses with its own model, “${model.name}”: each code counts as a band.` })
        : el("p", { textContent: `${sheet.school_name} enters a band for each result.` }),
      el("table", {}, el("thead", {}, el("tr", {}, ...["Code", "Meaning", "Counts as"].map((h) => el("th", { scope: "col", textContent: h })))),
        el("tbody", {}, ...(model ? model.codes.map((c) => [c.code, c.label, c.band])
          : sheet.bands.map((b) => [b, { BELOW: "Below Age Related Expectations", AT: "At Age Related Expectations", ABOVE: "Above Age Related Expectations" }[b] || b, b]))
          .map((cells) => el("tr", {}, ...cells.map((c) => el("td", { textContent: c })))))));
    current = {
      kind: "summative", scope, body, chosen, allowed, columns, sheet, pending: new Set(),
      save: (rows) => Accounts.call("POST", `${INGEST}/v1/assessments`, rows),
      row: (pupil, column, text) => ({ pupil_id: pupil.pupil_id, school_id: scope.school_id, academic_year: scope.academic_year,
        period: scope.period, year_group: pupil.year_group, subject: column.key, ...(model ? { code: text } : { band: text }),
        ...(assessedOn(scope.academic_year) ? { assessed_on: assessedOn(scope.academic_year) } : {}) }),
      lock: (change) => Accounts.call("POST", `${INGEST}/v1/assessments/${change}`, scope),
      reread: async () => {
        const again = await Accounts.call("GET", `${INGEST}/v1/entry/summative?${new URLSearchParams(scope)}`);
        return again.ok ? new Map(again.data.results.map((r) => [`${r.pupil_id}|${r.subject}`, cellOf(r)])) : null;
      },
      reload: () => openSummative(chosen, body),
    };
    render(body, sheet.pupils, columns, values, key, { missing: sheet.missing, total: sheet.pupils.length,
      what: chosen.subject ? `${subjectLabel(chosen.subject)}, ` : "" });
  }

  async function openStatutory(chosen, body) {
    const scope = clean({ school_id: chosen.school_id, academic_year: chosen.academic_year, assessment: chosen.assessment,
      class_id: chosen.class_id });
    const mine = opened;
    const answer = await Accounts.call("GET", `${INGEST}/v1/entry/statutory?${new URLSearchParams(scope)}`);
    if (mine !== opened) return; // another page (or selection) was opened meanwhile
    if (!answer.ok) { body.replaceChildren(note(`The results could not be read: ${describe(answer)}`, "error")); return; }
    const sheet = answer.data;
    classesOf(sheet, chosen);
    const codes = new Map(sheet.components.map((c) => [c.component, c.codes.map((k) => k.code)]));
    const columns = sheet.components.map((c) => ({ key: c.component, label: c.label, spec: c,
      takes: (pupil) => pupil.year_group === c.year_group }));
    const shown = (value) => [value.scaled_score ?? value.mark, value.code].filter((v) => v !== null && v !== undefined).join(" ");
    const cellOf = (r) => ({ text: shown(r.entered), state: r.state, assessed_on: r.assessed_on });
    const values = new Map(sheet.results.map((r) => [`${r.pupil_id}|${r.component}`, cellOf(r)]));
    const key = el("details", { className: "info-key" }, el("summary", { textContent: "Information key" }),
      ...sheet.components.map((c) => el("section", {}, el("h4", { textContent: c.label }),
        el("p", { className: "note", textContent: [c.scaled ? `a number is the scaled score (${c.scaled[0]}–${c.scaled[1]})` : null,
          !c.scaled && c.marks ? `a number is the mark (${c.marks[0]}–${c.marks[1]})` : null, c.optional ? "entered for some pupils only" : null]
          .filter(Boolean).join("; ") || "codes only" }),
        el("table", {}, el("thead", {}, el("tr", {}, ...["Code", "Meaning"].map((h) => el("th", { scope: "col", textContent: h })))),
          el("tbody", {}, ...c.codes.map((k) => el("tr", {}, el("td", { textContent: k.code }), el("td", { textContent: k.meaning }))))))));
    current = {
      kind: "statutory", scope, body, chosen, columns, sheet, pending: new Set(),
      allowedFor: (column) => codes.get(column.key) || [],
      save: (rows) => Accounts.call("POST", `${INGEST}/v1/statutory`, rows),
      row: (pupil, column, text) => ({ pupil_id: pupil.pupil_id, school_id: scope.school_id, academic_year: scope.academic_year,
        assessment: scope.assessment, component: column.key, ...statutoryValue(column.spec, text),
        ...(assessedOn(scope.academic_year) ? { assessed_on: assessedOn(scope.academic_year) } : {}) }),
      lock: (change) => Accounts.call("POST", `${INGEST}/v1/statutory/${change}`, scope),
      reread: async () => {
        const again = await Accounts.call("GET", `${INGEST}/v1/entry/statutory?${new URLSearchParams(scope)}`);
        return again.ok ? new Map(again.data.results.map((r) => [`${r.pupil_id}|${r.component}`, cellOf(r)])) : null;
      },
      reload: () => openStatutory(chosen, body),
    };
    if (chosen.view === "summary") { summary(body, sheet, values, key); return; }
    render(body, sheet.pupils, columns, values, key, { missing: sheet.missing, total: sheet.pupils.length, what: "" });
  }

  // A statutory cell's text: a number (the component's `number`: its scaled score, else its mark) and/or a code.
  function statutoryValue(spec, text) {
    const value = {};
    for (const token of text.split(/\s+/).filter(Boolean)) {
      if (/^-?\d+$/.test(token) && spec.number && !(spec.codes || []).some((k) => k.code === token)) value[spec.number] = Number(token);
      else value.code = token;
    }
    return value;
  }

  function summary(body, sheet, values, key) {
    const rows = sheet.components.map((c) => {
      const takers = sheet.pupils.filter((p) => p.year_group === c.year_group && !p.left_on);
      const cells = [...values.entries()].filter(([k]) => k.endsWith(`|${c.component}`)).map(([, v]) => v);
      const entered = cells.length;
      const locked = cells.filter((v) => v.state === "locked").length;
      return [c.label, takers.length, entered, locked, c.optional ? "–" : Math.max(0, takers.length - entered)];
    });
    const table = el("table", {}, el("caption", { className: "sr-only", textContent: "Entries by component" }),
      el("thead", {}, el("tr", {}, ...["Component", "Pupils", "Entered", "Locked", "Missing"].map((h, i) => el("th", { scope: "col", className: i ? "num" : "", textContent: h })))),
      el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c, i) => (i ? el("td", { className: "num", textContent: String(c) })
        : el("th", { scope: "row", textContent: String(c) })))))));
    body.replaceChildren(status(sheet.missing, sheet.pupils.length, ""), lockBar(sheet.missing),
      el("div", { className: "scroll", tabIndex: 0, role: "region", ariaLabel: "Summary of entries" }, table), key);
  }

  function status(missing, total, what) {
    return el("p", { id: "entry-status", className: "entry-status", role: "status",
      textContent: `${what}${total} pupils · ${missing} ${missing === 1 ? "entry" : "entries"} missing` });
  }

  function lockBar(missing) {
    const out = el("div", { id: "entry-lock-message", ariaLive: "polite" });
    const lock = el("button", { type: "button", id: "entry-lock", textContent: "Lock" });
    const unlock = el("button", { type: "button", className: "secondary", id: "entry-unlock", textContent: "Unlock" });
    const act = async (change) => {
      await flush();
      const answer = await current.lock(change);
      if (!answer.ok) { out.replaceChildren(note(describe(answer), "error")); return; }
      const done = answer.data.changed;
      const reload = current.reload;
      await reload();
      $("entry-lock-message").replaceChildren(note(change === "lock"
        ? `Locked: ${done} ${done === 1 ? "result" : "results"} now count${missing ? ` (${missing} still missing)` : ""}.`
        : `Unlocked: ${done} ${done === 1 ? "result" : "results"} no longer count.`));
    };
    lock.addEventListener("click", () => act("lock"));
    unlock.addEventListener("click", () => act("unlock"));
    return el("div", { className: "row-gap entry-actions" }, lock, unlock,
      el("span", { className: "note", textContent: `${missing ? `${missing} missing: locking counts what is entered` : "Nothing missing"}; Lock and Unlock act on the pupils and ${current.kind === "summative" ? "subjects" : "components"} shown` }), out);
  }

  // ---- the grid ----
  function render(body, pupils, columns, values, key, counts) {
    const errors = el("ul", { id: "entry-errors", className: "entry-errors", ariaLive: "assertive" });
    const cellMap = new Map();
    const table = el("table", { className: "entry-grid" },
      el("caption", { className: "sr-only", textContent: "Results: type a value, Tab or the arrow keys to move, paste a column from a spreadsheet" }),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", textContent: "Pupil" }),
        ...columns.map((c) => el("th", { scope: "col", textContent: c.label })),
        el("th", { scope: "col", className: "assessed", textContent: "Assessed on" }))),
      el("tbody", {}, ...pupils.map((pupil, r) => el("tr", {},
        el("th", { scope: "row", textContent: pupil.left_on ? `${pupil.pupil_id} (left)` : pupil.pupil_id }),
        ...columns.map((column, c) => {
          if (!column.takes(pupil)) return el("td", { className: "na", textContent: "–" });
          const stored = values.get(`${pupil.pupil_id}|${column.key}`);
          const input = el("input", { type: "text", value: stored ? stored.text : "", autocomplete: "off", spellcheck: false,
            className: `cell ${stored ? stored.state : "empty"}`, ariaLabel: `${pupil.pupil_id} ${column.label}`,
            title: titleOf(stored) });
          input.dataset.row = String(r);
          input.dataset.col = String(c);
          const cell = { pupil, column, input, saved: input.value, message: null };
          cellMap.set(input, cell);
          input.addEventListener("input", () => changed(cell));
          input.addEventListener("keydown", (event) => move(event, r, c));
          input.addEventListener("paste", (event) => paste(event, r, c));
          return el("td", {}, input);
        }),
        assessedCell(pupil.pupil_id, values)))));
    current.rows = pupils.length;
    current.cells = cellMap;
    current.errors = errors;
    current.grid = table;
    current.values = values;
    body.replaceChildren(status(counts.missing, counts.total, counts.what), lockBar(counts.missing),
      el("p", { className: "note", textContent: "Each value is saved as a draft as you type; it counts in the figures once locked." }),
      errors, el("div", { className: "scroll entry-scroll", tabIndex: 0, role: "region", ariaLabel: "Results grid" }, table), key);
    if (!pupils.length) body.append(note("No pupils in this selection at this school."));
  }

  function inputAt(row, col) {
    return current.grid.querySelector(`input[data-row="${row}"][data-col="${col}"]`);
  }

  function move(event, row, col) {
    const input = event.target;
    const steps = { ArrowUp: [-1, 0], ArrowDown: [1, 0], Enter: [1, 0] };
    if (event.key === "ArrowLeft" && input.selectionStart === 0 && input.selectionEnd === 0) steps.ArrowLeft = [0, -1];
    if (event.key === "ArrowRight" && input.selectionStart === input.value.length) steps.ArrowRight = [0, 1];
    const step = steps[event.key];
    if (!step) return;
    // The next cell that takes a value that way (a statutory column skips pupils of another year group).
    for (let [r, c] = [row + step[0], col + step[1]]; r >= 0 && r < current.rows && c >= 0 && c < current.columns.length;
      [r, c] = [r + step[0], c + step[1]]) {
      const target = inputAt(r, c);
      if (target) {
        event.preventDefault();
        target.focus();
        target.select();
        return;
      }
    }
  }

  // A column pasted from a spreadsheet (one value a line; several columns separated by tabs) fills the
  // cells from this one down (and across).
  function paste(event, row, col) {
    const text = (event.clipboardData || window.clipboardData).getData("text");
    if (!/[\t\n]/.test(text.replace(/\r?\n$/, ""))) return;
    event.preventDefault();
    const lines = text.replace(/\r/g, "").replace(/\n$/, "").split("\n");
    lines.forEach((line, i) => line.split("\t").forEach((value, j) => {
      const input = inputAt(row + i, col + j);
      if (!input) return;
      input.value = value.trim();
      changed(current.cells.get(input));
    }));
  }

  function canonical(cell, text) {
    const allowed = current.kind === "summative" ? current.allowed : current.allowedFor(cell.column);
    const found = allowed.find((code) => code.toLowerCase() === text.toLowerCase());
    return found || text;
  }

  function changed(cell) {
    current.pending.add(cell);
    clearTimeout(current.timer);
    current.timer = setTimeout(flush, SAVE_AFTER_MS);
  }

  function mark(cell, message) {
    cell.message = message;
    cell.input.classList.toggle("invalid", Boolean(message));
    if (message) cell.input.setAttribute("aria-invalid", "true"); else cell.input.removeAttribute("aria-invalid");
    const id = `entry-error-${cell.input.dataset.row}-${cell.input.dataset.col}`;
    const old = $(id);
    if (old) old.remove();
    if (message) {
      current.errors.append(el("li", { id, className: "error-text", textContent: `${cell.pupil.pupil_id}, ${cell.column.label}: ${message}` }));
      cell.input.setAttribute("aria-describedby", id);
    } else {
      cell.input.removeAttribute("aria-describedby");
    }
  }

  // Saves every changed cell as one batch of drafts. A batch is all or nothing: a 422 names each bad
  // row (marked red with ingest's reason), and the rest are sent again without them.
  async function flush() {
    clearTimeout(current.timer);
    const sheet = current;
    let cells = [...sheet.pending].filter((cell) => {
      const text = cell.input.value.trim();
      if (!text) {
        mark(cell, cell.saved ? "an entered result can be changed but not removed here: type another value" : null);
        if (!cell.saved) cell.input.classList.remove("invalid");
        return false;
      }
      return true;
    });
    sheet.pending.clear();
    for (let attempt = 0; cells.length && attempt < 2; attempt += 1) {
      const texts = cells.map((cell) => canonical(cell, cell.input.value.trim()));
      const answer = await sheet.save(cells.map((cell, i) => sheet.row(cell.pupil, cell.column, texts[i])));
      if (answer.ok) {
        cells.forEach((cell, i) => {
          if (cell.input.value.trim().toLowerCase() === texts[i].toLowerCase()) cell.input.value = texts[i];
          cell.saved = texts[i];
          mark(cell, null);
        });
        await restate(sheet, cells);
        return;
      }
      if (answer.status !== 422 || !Array.isArray(answer.data && answer.data.errors)) {
        sheet.errors.replaceChildren(el("li", { className: "error-text", textContent: `Not saved: ${describe(answer)}` }));
        return;
      }
      const bad = new Map();
      for (const e of answer.data.errors) {
        if (e.row === null || e.row === undefined) continue;
        bad.set(e.row, bad.has(e.row) ? `${bad.get(e.row)}; ${e.reason}` : e.reason);
      }
      cells.forEach((cell, i) => { if (bad.has(i)) mark(cell, bad.get(i)); });
      cells = cells.filter((_, i) => !bad.has(i));
    }
  }

  // After a save, the saved cells' lock states and assessment dates as ingest now has them (read back,
  // not guessed), and each of their pupils' dates in the last column.
  async function restate(sheet, cells) {
    const values = await sheet.reread();
    if (!values || sheet !== current) return;
    for (const cell of cells) {
      const stored = values.get(`${cell.pupil.pupil_id}|${cell.column.key}`);
      if (!stored) continue;
      sheet.values.set(`${cell.pupil.pupil_id}|${cell.column.key}`, stored);
      cell.input.classList.remove("empty", "locked", "changed", "draft");
      cell.input.classList.add(stored.state);
      cell.input.title = titleOf(stored);
    }
    for (const pupilId of new Set(cells.map((cell) => cell.pupil.pupil_id))) {
      const shown = sheet.grid.querySelector(`td.assessed[data-pupil="${CSS.escape(pupilId)}"]`);
      if (shown) shown.textContent = datesOf(pupilId, sheet.values);
    }
  }

  // ---- the app's hooks ----
  function show(path, params, app) {
    context = app;
    opened += 1;
    if (!may()) { location.replace("/#/"); return; }
    PAGES[path](params);
    $("entry-title").focus();
  }

  function hide() {
    $("entry").classList.add("hidden");
    if (current && current.pending && current.pending.size) flush();
  }

  window.TidemarkEntry = { addNav, show, hide, isEntryPath: (path) => path in PAGES };
})();
