"use strict";
// Accounts in the web UI: signing in and out, changing one's password, and the administration pages
// of a trust_admin (people, API keys, the audit trail). The session is an HttpOnly cookie the page
// cannot read; its CSRF token is kept in memory only and sent on every state-changing request.
(() => {
  const $ = (id) => document.getElementById(id);
  const el = (tag, props = {}, ...children) => {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
    return node;
  };
  let csrf = null;
  let me = null;

  async function call(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (csrf && method !== "GET") headers["X-CSRF-Token"] = csrf;
    let response;
    try {
      response = await fetch(path, { method, headers, credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      return { status: 0, ok: false, data: { detail: "The gateway cannot be reached." } };
    }
    let data = null;
    try { data = await response.json(); } catch { /* no body */ }
    return { status: response.status, ok: response.ok, data };
  }

  function detail(answer) {
    const d = answer.data && answer.data.detail;
    if (Array.isArray(d)) {
      return d.map((e) => `${(e.loc || []).filter((p) => p !== "body" && p !== "query").join(" › ")}: `
        + String(e.msg || "").replace(/^Value error, /, "")).join("; ");
    }
    return d || `HTTP ${answer.status}`;
  }

  const note = (text, kind = "") => el("div", { className: `message ${kind}`, role: kind === "error" ? "alert" : "status", textContent: text });

  // ---- who is signed in ----
  async function loadMe() {
    const answer = await call("GET", "/v1/auth/me");
    if (!answer.ok) { me = null; csrf = null; $("account").classList.add("hidden"); return null; }
    me = answer.data;
    csrf = me.csrf_token;
    $("account-name").textContent = me.user ? `${me.user.name} · ${me.role.replace("_", " ")}` : me.role;
    $("account").classList.remove("hidden");
    addAdminNav();
    return me;
  }
  const may = (permission) => Boolean(me && me.permissions.includes(permission));

  function addAdminNav() {
    if (!may("people:manage") || $("nav-admin")) return;
    const list = el("ul", { id: "nav-admin" },
      ...[["/admin/people", "People"], ["/admin/keys", "API keys"], ["/admin/audit", "Audit trail"]]
        .map(([path, label]) => el("li", {}, el("a", { href: `#${path}`, textContent: label }))));
    $("nav").append(el("div", { className: "group", textContent: "Administration" }), list);
  }

  // ---- pages of other scripts (imports.js), shown in this page's box to those with their permission;
  // their links go into their nav group (the group's list when another script made it: entry.js's Entry) ----
  const EXTRA = {};
  function register(path, render, { permission, group, label }) {
    EXTRA[path] = { render, permission, group, label };
  }

  function addExtraNav() {
    for (const [path, page] of Object.entries(EXTRA)) {
      if (!may(page.permission) || $("nav").querySelector(`a[href="#${path}"]`)) continue;
      const id = `nav-${page.group.toLowerCase().replace(/[^a-z]+/g, "-")}`;
      let list = $(id);
      if (!list) {
        list = el("ul", { id });
        $("nav").append(el("div", { className: "group", textContent: page.group }), list);
      }
      list.append(el("li", {}, el("a", { href: `#${path}`, textContent: page.label })));
    }
  }

  // ---- signing in and out ----
  function signIn(message = "") {
    me = null;
    csrf = null;
    $("app").classList.add("hidden");
    $("accounts").classList.add("hidden");
    $("account").classList.add("hidden");
    $("signin").classList.remove("hidden");
    const old = $("signin-error");
    if (old && message) old.remove();
    if (message) $("signin").append(Object.assign(note(message, "error"), { id: "signin-error" }));
    $("signin-email").focus();
  }

  async function submitSignIn(event) {
    event.preventDefault();
    const answer = await call("POST", "/v1/auth/login", { email: $("signin-email").value.trim(), password: $("signin-password").value });
    $("signin-password").value = "";
    if (!answer.ok) {
      signIn(answer.status === 429 ? `Too many failed sign-ins: ${detail(answer)}.` : answer.status === 401
        ? "Wrong email or password." : detail(answer));
      return;
    }
    $("signin").classList.add("hidden");
    const old = $("signin-error");
    if (old) old.remove();
    location.replace(answer.data.user && answer.data.user.must_change_password ? "/#/account/password" : "/#/");
    location.reload();
  }

  async function signOut() {
    await call("POST", "/v1/auth/logout");
    location.replace("/#/");
    location.reload();
  }

  // ---- pages ----
  function page(title, ...children) {
    $("app").classList.add("hidden");
    const box = $("accounts");
    // A table scrolls inside its own box on a narrow screen; the box takes the keyboard focus (so it can be scrolled).
    const boxed = children.map((child) => (child && child.tagName === "TABLE"
      ? el("div", { className: "scroll", tabIndex: 0, role: "region", ariaLabel: `${title}, table` }, child) : child));
    box.replaceChildren(el("h2", { className: "page-title", textContent: title, tabIndex: -1 }), ...boxed);
    box.classList.remove("hidden");
    document.title = `Tidemark · ${title}`;
    $("page-sub").textContent = title;
  }

  function passwordPage() {
    const current = el("input", { type: "password", autocomplete: "current-password", required: true });
    const fresh = el("input", { type: "password", autocomplete: "new-password", required: true, minLength: 12 });
    const out = el("div");
    const form = el("form", { className: "stack" },
      el("label", {}, "Current password", current),
      el("label", {}, "New password (at least 12 characters, not a common one)", fresh),
      el("div", { className: "row-gap" }, el("button", { type: "submit", textContent: "Change password" })), out);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const answer = await call("POST", "/v1/auth/password", { current_password: current.value, new_password: fresh.value });
      if (!answer.ok) { out.replaceChildren(note(detail(answer), "error")); return; }
      location.replace("/#/");
      location.reload();
    });
    const first = me && me.user && me.user.must_change_password;
    page("Change password", first ? note("Choose your own password before you continue.") : null, form);
  }

  const schoolsOf = (text) => {
    const list = text.split(",").map((s) => s.trim()).filter(Boolean);
    return list.length ? list : null;
  };
  const scope = (schools) => (schools ? schools.join(", ") : "every school");
  const when = (value) => (value ? new Date(value).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" }) : "–");

  function selectOf(values) {
    return el("select", {}, ...values.map((v) => el("option", { value: v, textContent: v })));
  }

  async function peoplePage() {
    const out = el("div");
    const table = el("tbody");
    const email = el("input", { type: "email", required: true });
    const name = el("input", { required: true });
    const role = selectOf(["school_leader", "teacher", "trust_leader", "analyst", "trust_admin"]);
    const schools = el("input", { placeholder: "S01, S02 (empty: every school)" });
    const form = el("form", { className: "admin-form" },
      el("label", {}, "Email", email), el("label", {}, "Name", name), el("label", {}, "Role", role),
      el("label", {}, "Schools", schools), el("button", { type: "submit", textContent: "Add person" }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const answer = await call("POST", "/v1/admin/users",
        { email: email.value, name: name.value, role: role.value, schools: schoolsOf(schools.value) });
      if (!answer.ok) { out.replaceChildren(note(detail(answer), "error")); return; }
      out.replaceChildren(note(`Added ${email.value}. Temporary password, shown once:`), el("p", { className: "secret", textContent: answer.data.temporary_password }));
      form.reset();
      await fill();
    });
    async function act(user, body) {
      const answer = await call("PATCH", `/v1/admin/users/${encodeURIComponent(user.user_id)}`, body);
      out.replaceChildren(answer.ok ? note(`Changed ${user.email}.`) : note(detail(answer), "error"));
      await fill();
    }
    async function reset(user) {
      const answer = await call("POST", `/v1/admin/users/${encodeURIComponent(user.user_id)}/reset-password`);
      out.replaceChildren(answer.ok
        ? el("div", {}, note(`New temporary password for ${user.email}, shown once:`), el("p", { className: "secret", textContent: answer.data.temporary_password }))
        : note(detail(answer), "error"));
    }
    async function fill() {
      const answer = await call("GET", "/v1/admin/users");
      if (!answer.ok) { out.replaceChildren(note(detail(answer), "error")); return; }
      table.replaceChildren(...answer.data.map((user) => el("tr", {},
        el("td", { textContent: user.email }), el("td", { textContent: user.name }), el("td", { textContent: user.role }),
        el("td", { textContent: scope(user.schools) }), el("td", { textContent: user.disabled ? "disabled" : "active" }),
        el("td", {},
          el("button", { type: "button", className: "link", textContent: user.disabled ? "Enable" : "Disable",
            onclick: () => act(user, { disabled: !user.disabled }) }), " ",
          el("button", { type: "button", className: "link", textContent: "Reset password", onclick: () => reset(user) })))));
    }
    page("People", form, out, el("table", {},
      el("thead", {}, el("tr", {}, ...["Email", "Name", "Role", "Schools", "Status", "Actions"].map((h) => el("th", { scope: "col", textContent: h })))),
      table));
    await fill();
  }

  async function keysPage() {
    const out = el("div");
    const table = el("tbody");
    const name = el("input", { required: true });
    const role = selectOf(["reader", "ingest"]);
    const schools = el("input", { placeholder: "S01, S02 (empty: every school)" });
    const expires = el("input", { type: "date" });
    const form = el("form", { className: "admin-form" },
      el("label", {}, "Name", name), el("label", {}, "Role", role), el("label", {}, "Schools", schools),
      el("label", {}, "Expires on", expires), el("button", { type: "submit", textContent: "Create key" }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const answer = await call("POST", "/v1/admin/api-keys",
        { name: name.value, role: role.value, schools: schoolsOf(schools.value), expires_on: expires.value || null });
      if (!answer.ok) { out.replaceChildren(note(detail(answer), "error")); return; }
      out.replaceChildren(note("The new key, shown this once (only its hash is kept):"), el("p", { className: "secret", textContent: answer.data.key }));
      form.reset();
      await fill();
    });
    async function fill() {
      const answer = await call("GET", "/v1/admin/api-keys");
      if (!answer.ok) { out.replaceChildren(note(detail(answer), "error")); return; }
      table.replaceChildren(...answer.data.map((key) => el("tr", {},
        el("td", { textContent: key.name }), el("td", { textContent: key.role }), el("td", { textContent: scope(key.schools) }),
        el("td", { textContent: when(key.last_used_at) }), el("td", { textContent: key.expires_on || "never" }),
        el("td", {}, key.revoked_at ? `revoked ${when(key.revoked_at)}` : el("button", { type: "button", className: "link",
          textContent: "Revoke", onclick: async () => {
            const revoked = await call("DELETE", `/v1/admin/api-keys/${encodeURIComponent(key.key_id)}`);
            out.replaceChildren(revoked.ok ? note(`Revoked ${key.name}.`) : note(detail(revoked), "error"));
            await fill();
          } })))));
    }
    page("API keys", form, out, el("table", {},
      el("thead", {}, el("tr", {}, ...["Name", "Role", "Schools", "Last used", "Expires", "Actions"].map((h) => el("th", { scope: "col", textContent: h })))),
      table));
    await fill();
  }

  async function auditPage() {
    const out = el("div");
    const table = el("tbody");
    const fields = { actor: el("input"), action: el("input"), school: el("input"),
      from: el("input", { type: "datetime-local" }), to: el("input", { type: "datetime-local" }) };
    const more = el("button", { type: "button", className: "hidden", textContent: "Older entries" });
    let cursor = null;
    const form = el("form", { className: "admin-form" },
      ...Object.entries(fields).map(([label, input]) => el("label", {}, label, input)),
      el("button", { type: "submit", textContent: "Filter" }));
    async function fill(append) {
      const params = new URLSearchParams();
      for (const [key, input] of Object.entries(fields)) if (input.value) params.set(key, input.value);
      if (append && cursor) params.set("cursor", cursor);
      const answer = await call("GET", `/v1/audit?${params}`);
      if (!answer.ok) { out.replaceChildren(note(detail(answer), "error")); return; }
      out.replaceChildren();
      const rows = answer.data.entries.map((entry) => el("tr", {},
        el("td", { textContent: when(entry.at) }), el("td", { textContent: entry.actor_id }), el("td", { textContent: entry.action }),
        el("td", { textContent: entry.school_id || "" }), el("td", { textContent: JSON.stringify(entry.detail) })));
      if (append) table.append(...rows); else table.replaceChildren(...rows);
      cursor = answer.data.next_cursor;
      more.classList.toggle("hidden", !cursor);
    }
    form.addEventListener("submit", (event) => { event.preventDefault(); fill(false); });
    more.addEventListener("click", () => fill(true));
    page("Audit trail", form, out, el("table", {},
      el("thead", {}, el("tr", {}, ...["When", "Who", "Action", "School", "Details"].map((h) => el("th", { scope: "col", textContent: h })))),
      table), more);
    await fill(false);
  }

  const PAGES = { "/account/password": passwordPage, "/admin/people": peoplePage, "/admin/keys": keysPage, "/admin/audit": auditPage };

  function show(path) {
    const extra = EXTRA[path];
    if (extra) {
      if (may(extra.permission)) extra.render(); else location.replace("/#/");
      return;
    }
    const render = PAGES[path];
    if (!render || (path.startsWith("/admin/") && !may("people:manage"))) { location.replace("/#/"); return; }
    render();
  }

  function hide() { $("accounts").classList.add("hidden"); }

  async function offerSingleSignOn() {
    const answer = await call("GET", "/v1/auth/oidc");
    if (answer.ok && answer.data.enabled) {
      $("signin-sso").textContent = `Sign in with ${answer.data.label}`;
      $("signin-sso").classList.remove("hidden");
    }
  }

  $("signin-form").addEventListener("submit", submitSignIn);
  offerSingleSignOn();
  if (new URLSearchParams(location.search).get("sso") === "failed") {
    history.replaceState(null, "", "/");
    $("signin").append(Object.assign(note("Single sign-on did not sign you in: your Tidemark account may not exist yet, "
      + "or is disabled. Ask your Trust's administrator.", "error"), { id: "signin-error" }));
  }
  $("signout").addEventListener("click", signOut);
  window.TidemarkAccounts = { loadMe, signIn, show, hide, call, me: () => me, page, register, addExtraNav, csrf: () => csrf,
    isAccountPath: (path) => path in PAGES || path in EXTRA, mustChangePassword: () => Boolean(me && me.user && me.user.must_change_password) };
})();
