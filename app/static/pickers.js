/* Org pickers (select2 over /orgs/pick/), the notice audience tree and the notice body editor.
 * Served from the app (no CDN). Without JavaScript the selects and checkboxes still post. */
(function () {
  "use strict";
  var $ = window.jQuery;
  var i18n = document.getElementById("malan-picker-i18n");
  function say(key) { return i18n ? i18n.getAttribute("data-" + key) || "" : ""; }

  /* ---- select2 org pickers ---- */
  function initPicker(el) {
    if (!$ || !$.fn.select2 || el.getAttribute("data-ready")) { return; }
    el.setAttribute("data-ready", "1");
    var roleFrom = el.getAttribute("data-role-from");
    var roleEl = roleFrom ? document.getElementById(roleFrom) : null;
    $(el).select2({
      width: "100%",
      allowClear: !el.required,
      placeholder: el.getAttribute("data-placeholder") || "",
      minimumInputLength: 0,
      language: {
        searching: function () { return say("searching"); },
        noResults: function () { return say("no-results"); },
        loadingMore: function () { return say("loading-more"); },
        errorLoading: function () { return say("error"); }
      },
      ajax: {
        url: el.getAttribute("data-org-picker"),
        dataType: "json",
        delay: 250,
        data: function (params) {
          return {
            q: params.term || "",
            page: params.page || 1,
            purpose: el.getAttribute("data-purpose"),
            role: roleEl ? roleEl.value : (el.getAttribute("data-role") || "")
          };
        }
      }
    });
    if (roleEl) {  // another role fits other orgs: the choice starts again
      $(roleEl).on("change", function () { $(el).val(null).trigger("change"); });
    }
  }

  /* ---- the audience tree ---- */
  function covered(box) {  // tick "all below": the node stands for its subtree
    var li = box.closest("li");
    li.querySelectorAll(":scope > details > ul input[type=checkbox]").forEach(function (inner) {
      inner.disabled = box.checked;
      if (box.checked) { inner.checked = true; } else if (inner.getAttribute("data-auto")) { inner.checked = false; }
      if (box.checked) { inner.setAttribute("data-auto", "1"); } else { inner.removeAttribute("data-auto"); }
    });
  }
  function loadBranch(li, tree) {
    var ul = li.querySelector(":scope > details > ul");
    if (!ul || li.getAttribute("data-loaded")) { return; }
    li.setAttribute("data-loaded", "1");
    var url = tree.getAttribute("data-url") + "?purpose=notice&under=" + li.getAttribute("data-id");
    var page = 1;
    function next() {
      fetch(url + "&page=" + page, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
        data.results.forEach(function (org) { ul.appendChild(leaf(org, li)); });
        if (data.pagination.more && page < 50) { page += 1; next(); }
      });
    }
    next();
  }
  function leaf(org, parentLi) {
    var li = document.createElement("li");
    li.className = "malan-tree-leaf";
    li.setAttribute("data-search", org.path);
    var label = document.createElement("label");
    var box = document.createElement("input");
    box.type = "checkbox"; box.name = "org_ids"; box.value = org.id;
    var all = parentLi && parentLi.querySelector(":scope > details > summary .malan-all-below");
    if (all && all.checked) { box.checked = true; box.disabled = true; box.setAttribute("data-auto", "1"); }
    label.appendChild(box);
    label.appendChild(document.createTextNode(" " + org.name));
    li.appendChild(label);
    return li;
  }
  function filterTree(tree, term) {
    term = term.trim().toLowerCase();
    var items = Array.prototype.slice.call(tree.querySelectorAll("li")).reverse();  // leaves first
    items.forEach(function (li) {
      var own = (li.getAttribute("data-search") || "").toLowerCase().indexOf(term) >= 0;
      var child = li.querySelector("li:not([hidden])");
      var show = !term || own || !!child;
      li.hidden = !show;
      var details = li.querySelector(":scope > details");
      if (details && term && child) { details.open = true; }
    });
  }
  function initTree(tree) {
    tree.addEventListener("change", function (e) {
      if (e.target.classList.contains("malan-all-below")) { covered(e.target); }
    });
    tree.querySelectorAll(".malan-all-below:checked").forEach(covered);
    tree.querySelectorAll("li[data-lazy]").forEach(function (li) {
      var details = li.querySelector(":scope > details");
      details.addEventListener("toggle", function () { if (details.open) { loadBranch(li, tree); } });
    });
    var search = tree.querySelector(".malan-tree-search");
    var results = tree.querySelector("li[data-lazy]") ? tree.querySelector(".malan-tree-results") : null;
    var timer = null;
    function searchServer(term) {  // a large tree: institutions not yet loaded are found here
      results.innerHTML = "";
      if (term.trim().length < 2) { return; }
      var url = tree.getAttribute("data-url") + "?purpose=notice&q=" + encodeURIComponent(term);
      fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
        if (search.value !== term) { return; }
        data.results.forEach(function (org) {
          if (!tree.querySelector("input[name=org_ids][value='" + org.id + "']")) {
            var item = leaf(org, null);
            item.lastChild.lastChild.textContent = " " + org.path;
            results.appendChild(item);
          }
        });
      });
    }
    if (search) {
      search.addEventListener("input", function () {
        filterTree(tree, search.value);
        if (results) { clearTimeout(timer); timer = setTimeout(function () { searchServer(search.value); }, 250); }
      });
      search.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); } });
    }
  }

  /* ---- the notice body editor (pell, vendored) ---- */
  function initEditor(textarea) {
    if (!window.pell) { return; }
    var holder = document.createElement("div");
    holder.className = "malan-editor";
    textarea.parentNode.insertBefore(holder, textarea);
    textarea.style.display = "none";  // .form-control would override [hidden]
    var titles = JSON.parse(textarea.getAttribute("data-editor") || "{}");
    function act(name, icon, run) { return {name: name, icon: icon, title: titles[name] || name, result: run}; }
    var editor = window.pell.init({
      element: holder,
      defaultParagraphSeparator: "p",
      onChange: function (html) { textarea.value = html; },
      actions: [
        {name: "bold", title: titles.bold}, {name: "italic", title: titles.italic},
        act("heading2", "<b>H2</b>", function () { window.pell.exec("formatBlock", "<h2>"); }),
        act("heading3", "<b>H3</b>", function () { window.pell.exec("formatBlock", "<h3>"); }),
        {name: "olist", title: titles.olist}, {name: "ulist", title: titles.ulist},
        act("link", "<u>" + (titles.link || "URL") + "</u>", function () {
          var url = window.prompt(titles.link_prompt || "URL");
          if (url) { window.pell.exec("createLink", url); }
        })
      ]
    });
    editor.content.innerHTML = textarea.value;  // the server sanitises what is posted
    editor.content.setAttribute("role", "textbox");
    editor.content.setAttribute("aria-multiline", "true");
    editor.content.id = textarea.id + "-editor";
    holder.querySelectorAll(".pell-button").forEach(function (b) {
      if (!b.getAttribute("aria-label")) { b.setAttribute("aria-label", b.title); }
    });
  }

  function init() {
    document.querySelectorAll("select[data-org-picker]").forEach(initPicker);
    // A list's filter row is added when the user asks for it (FAB's ab_filters.js): its org
    // picker starts then.
    if (window.MutationObserver) {
      new MutationObserver(function () {
        document.querySelectorAll("select[data-org-picker]:not([data-ready])").forEach(initPicker);
      }).observe(document.body, {childList: true, subtree: true});
    }
    document.querySelectorAll("[data-audience-tree]").forEach(initTree);
    document.querySelectorAll("textarea[data-editor]").forEach(initEditor);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
