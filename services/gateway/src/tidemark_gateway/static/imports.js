"use strict";
// The Import page (for people who may write to their schools, `tracker:write`): upload a CSV or Excel
// file to ingest's bulk import through the gateway's forward (/ingest/v1/imports, with the session
// cookie and its CSRF token), check and edit how its columns are read (matched by header, or by the
// mapping saved for the school), read the validation report (every bad row, column and reason, and
// the errors CSV), commit, and follow the progress until the import is done. Every rule is ingest's:
// this page only shows what ingest answers (the fields from GET /v1/imports/fields, the errors from
// the import's status).
(() => {
  const Accounts = window.TidemarkAccounts;
  const INGEST = "/ingest/v1/imports";
  const POLL_MS = 500;
  const KINDS = [["summative", "Summative results"], ["statutory", "Statutory results"], ["pupils", "Pupils"],
    ["classes", "Classes"]];
  const STATES = {
    validating: "Checking the file …", invalid: "The file has errors: nothing can be stored. Fix them and upload it again.",
    ready: "The file is valid: nothing is stored until you commit.", storing: "Storing …",
    done: "Done: every row is stored (as drafts: lock them as usual).", failed: "Failed: nothing was stored.",
  };
  const el = (tag, props = {}, ...children) => {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
    return node;
  };
  const note = (text, kind = "") => el("div", { className: `message ${kind}`, role: kind === "error" ? "alert" : "status", textContent: text });
  const count = (n) => Number(n).toLocaleString("en-GB");

  async function send(method, path, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = Accounts.csrf();
    let response;
    try {
      response = await fetch(path, { method, headers, body, credentials: "same-origin" });
    } catch {
      return { ok: false, status: 0, data: { detail: "The gateway cannot be reached." } };
    }
    let data = null;
    try { data = await response.json(); } catch { /* no body */ }
    return { ok: response.ok, status: response.status, data };
  }

  function problem(answer) {
    const d = answer.data && answer.data.detail;
    if (Array.isArray(d)) {
      return d.map((e) => `${(e.loc || []).filter((p) => p !== "body" && p !== "query").join(" › ")}: `
        + String(e.msg || "").replace(/^Value error, /, "")).join("; ");
    }
    return d || `HTTP ${answer.status}`;
  }

  const select = (label, options, value = "", id = "") => {
    const node = el("select", id ? { id } : {}, ...options.map(([v, text]) => el("option", { value: v, textContent: text })));
    node.value = value;
    return [el("label", {}, label, node), node];
  };

  async function importPage() {
    const [schools, calendar] = await Promise.all([send("GET", "/v1/schools"), send("GET", "/v1/calendar")]);
    const schoolList = schools.ok ? schools.data : [];
    const years = calendar.ok ? calendar.data.academic_years : [];
    const periods = calendar.ok ? calendar.data.periods : [];
    const fromFile = ["", "From the file"];

    const file = el("input", { type: "file", id: "import-file", accept: ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", required: true });
    const [kindLabel, kind] = select("Kind", KINDS, "summative", "import-kind");
    const [schoolLabel, school] = select("School", [fromFile, ...schoolList.map((s) => [s.school_id, s.name || s.school_id])],
      schoolList.length === 1 ? schoolList[0].school_id : "", "import-school");
    const [yearLabel, year] = select("Academic year", [fromFile, ...[...years].reverse().map((y) => [y, y])], "", "import-academic-year");
    const [periodLabel, period] = select("Period", [fromFile, ...periods.map((p) => [p, p])], "", "import-period");
    const form = el("form", { className: "admin-form", id: "import-form" },
      el("label", {}, "CSV or Excel file", file), kindLabel, schoolLabel, yearLabel, periodLabel,
      el("button", { type: "submit", textContent: "Upload and check" }));
    const out = el("div", { id: "import-out" });
    Accounts.page("Import", el("p", { className: "note", textContent: "Pupils, summative or statutory results from a tracker's or MIS's "
      + "export: one row per result, or one row per pupil with a column per subject. Give the school, year or period here "
      + "when the file has no column for them." }), form, out);

    let current = null; // { content, name, mapping } of the file being imported
    let polling = 0;

    async function upload(mapping) {
      out.replaceChildren(note("Uploading …"));
      const body = new FormData();
      body.append("file", new Blob([current.content]), current.name);
      body.append("kind", kind.value);
      for (const [name, input] of [["school_id", school], ["academic_year", year], ["period", period]]) {
        if (input.value) body.append(name, input.value);
      }
      if (mapping) body.append("mapping", JSON.stringify(mapping));
      const answer = await send("POST", INGEST, body);
      if (!answer.ok) { out.replaceChildren(note(`The upload was refused: ${problem(answer)}`, "error")); return; }
      follow(answer.data.import_id);
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!file.files.length) return;
      current = { content: await file.files[0].arrayBuffer(), name: file.files[0].name };
      upload(null);
    });

    async function follow(importId) {
      const mine = ++polling;
      const fields = await send("GET", `${INGEST}/fields?kind=${encodeURIComponent(kind.value)}`);
      for (;;) {
        if (mine !== polling || !out.isConnected || out.closest(".hidden")) return; // another upload took over, or the page was left
        const answer = await send("GET", `${INGEST}/${encodeURIComponent(importId)}`);
        if (!answer.ok) { out.replaceChildren(note(problem(answer), "error")); return; }
        render(answer.data, fields.ok ? fields.data : null);
        if (!["validating", "storing"].includes(answer.data.state)) return;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    }

    function progressRow(label, value, max) {
      const bar = el("progress", { max: Math.max(max, 1), value: Math.min(value, Math.max(max, 1)) });
      bar.setAttribute("aria-label", label);
      return el("div", { className: "progress-row" }, el("span", { textContent: label }), bar,
        el("span", { className: "num", textContent: max ? `${count(value)} of ${count(max)}` : count(value) }));
    }

    function render(status, fields) {
      const working = ["validating", "storing"].includes(status.state);
      const total = Math.max(status.rows_read, status.rows_valid);
      const progress = el("section", { id: "import-progress", ariaLabel: "Progress" },
        el("h3", { textContent: `${status.filename || "The file"}: ${status.state}` }),
        el("p", { className: `import-state ${status.state}`, role: "status", textContent: STATES[status.state] || status.state }),
        progressRow("Rows read", status.rows_read, status.state === "validating" ? 0 : status.rows_read),
        progressRow("Rows valid", status.rows_valid, total),
        progressRow("Rows stored", status.rows_stored, status.state === "storing" || status.state === "done" ? status.rows_valid : 0),
        status.reason ? note(status.reason, "error") : null);
      progress.setAttribute("aria-busy", String(working));
      const parts = [progress];
      if (!working || status.state === "validating") parts.push(mappingStep(status, fields));
      if (status.error_count) parts.push(errorReport(status));
      if (status.state === "ready") {
        parts.push(el("div", { className: "row-gap" },
          el("button", { type: "button", id: "import-commit", textContent: `Commit ${count(status.rows_valid)} rows`,
            onclick: async () => {
              const answer = await send("POST", `${INGEST}/${encodeURIComponent(status.import_id)}/commit`);
              if (!answer.ok) { out.append(note(problem(answer), "error")); return; }
              follow(status.import_id);
            } })));
      }
      out.replaceChildren(...parts.filter(Boolean));
    }

    function mappingStep(status, fields) {
      const headers = Object.keys(status.columns || {});
      if (!headers.length || !fields) return null;
      const targets = [["", "(ignored)"], ...fields.fields.map((f) => [f.name, f.required ? `${f.name} (needed)` : f.name]),
        ...fields.columns.map((c) => [c, c])];
      const choices = headers.map((header) => {
        const [, chosen] = select(`Column “${header}”`, targets, status.columns[header] || "");
        chosen.dataset.header = header;
        return chosen;
      });
      const rows = headers.map((header, i) => el("tr", {}, el("th", { scope: "row", textContent: header }),
        el("td", {}, el("label", { className: "sr-only", htmlFor: `map-${i}`, textContent: `Field for column ${header}` }),
          Object.assign(choices[i], { id: `map-${i}` }))));
      const source = status.mapping_from === "saved"
        ? el("p", { className: "note" }, "Read with the column mapping saved for this school from an earlier import. ",
          el("button", { type: "button", className: "link", textContent: "Forget it", onclick: () => forget(status) }))
        : el("p", { className: "note", textContent: status.mapping_from === "upload" ? "Read with the mapping chosen below."
          : "Columns matched by their headers." });
      const needed = fields.fields.filter((f) => f.required).map((f) => f.name);
      const table = el("table", { className: "mapping" },
        el("caption", { className: "sr-only", textContent: "Each column of the file and the field it feeds" }),
        el("thead", {}, el("tr", {}, el("th", { scope: "col", textContent: "Column of the file" }),
          el("th", { scope: "col", textContent: "Field it feeds" }))),
        el("tbody", {}, ...rows));
      return el("section", { id: "import-mapping" }, el("h3", { textContent: "Columns" }), source,
        el("p", { className: "note", textContent: `Needed: ${needed.join(", ")} (school, year and period can be given above `
          + `for the whole file; a file of one row per pupil has a column per ${fields.kind === "statutory" ? "component" : "subject"} `
          + "instead of subject and result). Other columns are ignored." }),
        el("div", { className: "scroll", tabIndex: 0, role: "region", ariaLabel: "Columns of the file" }, table),
        el("div", { className: "row-gap" }, el("button", { type: "button", className: "secondary", id: "import-remap",
          textContent: "Check again with these columns",
          onclick: () => upload(edited(status, choices)) })));
    }

    // The mapping to check the file with: the one it was read with, and each column changed on the page
    // ("" ignores a column); columns left as matched by their header stay out of it, so that a mapping
    // saved from it still fits the school's next export if another column comes or goes.
    function edited(status, choices) {
      const mapping = { ...(status.mapping || {}) };
      for (const choice of choices) {
        if (choice.value !== (status.columns[choice.dataset.header] || "")) mapping[choice.dataset.header] = choice.value;
      }
      return mapping;
    }

    async function forget(status) {
      const answer = await send("DELETE", `${INGEST}/mappings/${encodeURIComponent(status.saved_mapping_id)}`);
      out.append(answer.ok ? note("Forgotten: the school's next upload is matched by its headers.") : note(problem(answer), "error"));
    }

    function errorReport(status) {
      const rows = status.errors.map((e) => el("tr", {},
        el("td", { className: "num", textContent: e.row === null ? "file" : e.row }), el("td", { textContent: e.column }),
        el("td", { textContent: e.reason }), el("td", { textContent: e.value === null ? "" : String(e.value) })));
      const download = el("button", { type: "button", className: "secondary", id: "import-errors-csv", textContent: "Download every error (CSV)",
        onclick: async () => {
          const response = await fetch(`/ingest${status.errors_csv_url}`, { credentials: "same-origin" });
          if (!response.ok) { out.append(note(`HTTP ${response.status}`, "error")); return; }
          const url = URL.createObjectURL(await response.blob());
          const a = el("a", { href: url, download: `import-${status.import_id}-errors.csv` });
          document.body.append(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(url), 10000);
        } });
      const shown = status.errors.length < status.error_count ? ` (the first ${count(status.errors.length)} shown)` : "";
      return el("section", { id: "import-errors" },
        el("h3", {}, `${count(status.error_count)} errors${shown}`, download),
        el("div", { className: "scroll", tabIndex: 0, role: "region", ariaLabel: "Errors of the file" },
          el("table", {}, el("caption", { className: "sr-only", textContent: "Every error: the file's row (the header is row 1), column and reason" }),
            el("thead", {}, el("tr", {}, ...["Row", "Column", "Reason", "Value"].map((h) => el("th", { scope: "col", textContent: h })))),
            el("tbody", {}, ...rows))));
    }
  }

  Accounts.register("/import", importPage, { permission: "tracker:write", group: "Entry", label: "Import" });
})();
