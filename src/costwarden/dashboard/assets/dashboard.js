// costwarden dashboard: fetches its panels (HTML drawn by the server from the same views as the API) with
// the API key this tab holds, keeps filters in the URL, and reloads the panels when the figures change.
"use strict";
(() => {
  const KEY = "costwarden.key";
  const FILTERS = ["project", "agent", "model", "provider", "user", "run", "tag"];
  const PAGE = ["period", "start", "end", ...FILTERS, "stack", "table"];
  const POLL_MS = Number(document.documentElement.dataset.pollMs || 0) || 5000;
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  let version = null;
  let polling = null;
  let loading = false;
  let generation = 0; // bumped by every navigation: a poll answered for an older view is dropped

  const key = () => sessionStorage.getItem(KEY);
  const headers = () => (key() ? { Authorization: `Bearer ${key()}` } : {});
  const params = () => new URLSearchParams(location.search);

  function query(extra) {
    const out = new URLSearchParams();
    for (const [k, v] of params()) if (PAGE.includes(k)) out.append(k, v);
    for (const [k, v] of Object.entries(extra || {})) out.set(k, v);
    const text = out.toString();
    return text ? `?${text}` : "";
  }

  function navigate(change) {
    const next = params();
    change(next);
    const text = next.toString();
    history.pushState(null, "", text ? `?${text}` : location.pathname);
    generation += 1;
    version = null;
    load();
  }

  function say(text) {
    $("#status").textContent = text;
  }

  async function get(url) {
    const response = await fetch(url, { headers: headers(), cache: "no-store" });
    if (!response.ok) {
      let message = `${response.status}`;
      try {
        message = (await response.json()).error.message;
      } catch (e) {
        /* not JSON */
      }
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return response;
  }

  async function access() {
    const response = await fetch("/dashboard/access", { headers: headers(), cache: "no-store" });
    return response.json();
  }

  function showLogin(message) {
    $("#login").hidden = false;
    $("#main").hidden = true;
    $("#login-error").textContent = message || "";
    $("#login-key").focus();
  }

  function renderFilters() {
    const p = params();
    const period = p.get("period") || (p.get("start") || p.get("end") ? "" : "last-30-days");
    const select = $("#f-period");
    if (period && !$$("option", select).some((o) => o.value === period)) {
      select.add(new Option(period, period));
    }
    select.value = period;
    const chips = $("#chips");
    chips.textContent = "";
    for (const field of FILTERS) {
      for (const value of p.getAll(field)) {
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.remove = field;
        button.dataset.value = value;
        button.title = `Remove the filter ${field} = ${value}`;
        button.textContent = `${field}: ${value} ✕`;
        li.append(button);
        chips.append(li);
      }
    }
  }

  async function loadPanel(section) {
    const name = section.dataset.panel;
    const response = await get(`/dashboard/panels/${name}${query()}`);
    section.innerHTML = await response.text();
    section.setAttribute("aria-busy", "false");
  }

  async function loadSession() {
    const panel = $("[data-session-panel]");
    const session = params().get("session");
    if (!session) {
      panel.hidden = true;
      panel.textContent = "";
      return;
    }
    const response = await get(`/dashboard/sessions/${encodeURIComponent(session)}${query()}`);
    panel.innerHTML = await response.text();
    panel.hidden = false;
  }

  let again = false; // asked to load while loading: once more when done

  async function load() {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    renderFilters();
    try {
      const state = await access();
      if (!state.allowed) {
        showLogin(key() ? state.message : "");
        return;
      }
      $("#login").hidden = true;
      $("#main").hidden = false;
      $("#logout").hidden = !key();
      // the version asked first: the panels are at least as new as it
      const seen = currentVersion();
      // the figures first; the slower suggestions after them
      const panels = $$("[data-panel]:not([data-later])");
      await Promise.all([...panels.map(loadPanel), loadSession()]);
      restoreSorts();
      await Promise.all($$("[data-panel][data-later]").map(loadPanel));
      version = await seen;
      document.body.dataset.loaded = String(Date.now());
      say("");
    } catch (error) {
      say(`Could not load: ${error.message}`);
      if (error.status === 401) showLogin(error.message);
    } finally {
      loading = false;
      if (again) {
        again = false;
        load();
      }
    }
  }

  async function currentVersion() {
    const response = await get(`/dashboard/version${query()}`);
    return (await response.json()).version;
  }

  async function poll() {
    if (loading || document.hidden || !$("#login").hidden || version === null) return;
    const asked = generation;
    try {
      const now = await currentVersion();
      $("#live").classList.remove("stale");
      if (asked !== generation || loading) return;
      if (now !== version) await load();
    } catch (error) {
      $("#live").classList.add("stale");
    }
  }

  // -- tables ------------------------------------------------------------------------------------------
  const sorts = {};

  function sortTable(table, column, direction) {
    const index = $$("thead th", table).findIndex((th) => $("button", th)?.dataset.sort === column);
    if (index < 0) return;
    const numeric = $$("thead th button", table)[index].dataset.type === "num";
    const rows = $$("tbody tr", table);
    const value = (row) => row.children[index].dataset.v || "";
    rows.sort((a, b) => {
      const x = value(a);
      const y = value(b);
      const order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
      return direction === "ascending" ? order : -order;
    });
    const body = $("tbody", table);
    for (const row of rows) body.append(row);
    for (const th of $$("thead th", table)) th.removeAttribute("aria-sort");
    $$("thead th", table)[index].setAttribute("aria-sort", direction);
  }

  function restoreSorts() {
    for (const table of $$("table[data-table]")) {
      const saved = sorts[table.dataset.table];
      if (saved) sortTable(table, saved.column, saved.direction);
    }
  }

  // -- downloads with the key --------------------------------------------------------------------------
  async function download(link) {
    try {
      const response = await get(link.getAttribute("href"));
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = link.dataset.download;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (error) {
      say(`Could not download: ${error.message}`);
    }
  }

  async function post(url) {
    const response = await fetch(url, { method: "POST", headers: headers() });
    if (!response.ok) {
      let message = `${response.status}`;
      try {
        message = (await response.json()).error.message;
      } catch (e) {
        /* not JSON */
      }
      throw new Error(message);
    }
  }

  // -- events ------------------------------------------------------------------------------------------
  document.addEventListener("click", (event) => {
    const target = event.target.closest("button, a");
    if (!target) return;
    const data = target.dataset;
    if (data.download !== undefined && target.tagName === "A") {
      event.preventDefault();
      download(target);
    } else if (data.filter) {
      navigate((p) => {
        p.append(data.filter, data.value);
        if (data.filter2) p.append(data.filter2, data.value2);
      });
    } else if (data.remove) {
      navigate((p) => {
        const kept = p.getAll(data.remove).filter((v) => v !== data.value);
        p.delete(data.remove);
        for (const v of kept) p.append(data.remove, v);
      });
    } else if (data.param) {
      navigate((p) => p.set(data.param, data.value));
    } else if (data.session) {
      navigate((p) => p.set("session", data.session));
      window.scrollTo({ top: 0 });
    } else if (data.closeSession) {
      navigate((p) => p.delete("session"));
    } else if (data.sort) {
      const table = target.closest("table");
      const th = target.closest("th");
      const direction = th.getAttribute("aria-sort") === "descending" ? "ascending" : "descending";
      sorts[table.dataset.table] = { column: data.sort, direction };
      sortTable(table, data.sort, direction);
    } else if (data.post) {
      target.disabled = true;
      post(data.post)
        .then(() => {
          generation += 1;
          return load();
        })
        .catch((error) => {
          target.disabled = false;
          say(`Could not ${target.textContent.toLowerCase()}: ${error.message}`);
        });
    }
  });

  document.addEventListener("submit", (event) => {
    if (!event.target.matches("[data-tag-form]")) return;
    event.preventDefault();
    const name = event.target.querySelector("input").value.trim();
    if (name) navigate((p) => p.set("table", `tag:${name}`));
  });

  $("#f-period").addEventListener("change", (event) => {
    navigate((p) => {
      p.delete("start");
      p.delete("end");
      p.set("period", event.target.value);
    });
  });

  $("#filters").addEventListener("submit", (event) => {
    event.preventDefault();
    const field = $("#f-field").value;
    const value = $("#f-value").value.trim();
    if (!value) return;
    $("#f-value").value = "";
    navigate((p) => p.append(field, value));
  });

  $("#login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $("#login-key").value.trim());
    $("#login-key").value = "";
    version = null;
    load();
  });

  $("#logout").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    load();
  });

  window.addEventListener("popstate", () => {
    generation += 1;
    version = null;
    load();
  });

  // -- tooltips ----------------------------------------------------------------------------------------
  const tip = $("#tip");
  function showTip(element, x, y) {
    tip.textContent = element.dataset.tip;
    tip.hidden = false;
    const width = tip.offsetWidth;
    const left = Math.min(Math.max(8, x + 12), window.innerWidth - width - 8);
    tip.style.left = `${left + window.scrollX}px`;
    tip.style.top = `${y + window.scrollY + 14}px`;
  }
  document.addEventListener("mouseover", (event) => {
    const element = event.target.closest("[data-tip]");
    if (element) showTip(element, event.clientX, event.clientY);
  });
  document.addEventListener("mousemove", (event) => {
    const element = event.target.closest("[data-tip]");
    if (element) showTip(element, event.clientX, event.clientY);
    else tip.hidden = true;
  });
  document.addEventListener("focusin", (event) => {
    const element = event.target.closest("[data-tip]");
    if (!element) return;
    const box = element.getBoundingClientRect();
    showTip(element, box.left, box.bottom);
  });
  document.addEventListener("focusout", () => {
    tip.hidden = true;
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") tip.hidden = true;
  });

  load();
  polling = setInterval(poll, POLL_MS);
  window.costwarden = { reload: load, poll, stop: () => clearInterval(polling) };
})();
