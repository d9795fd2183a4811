// Keeps what a person typed into a form sent after their session ended: the server acts on nothing sent without a
// session and sends the browser to sign in, then back to the form's page. The fields are kept in this tab's
// sessionStorage only (never in an address, a cookie or the server), from the moment the form is sent until the next
// page opens; the sign-in page holds them, the next page of the same person (data-viewer-mark) with a form of the
// same action fills them back in and says so, and any other page drops them. Never kept: the CSRF token and the
// form's one-time key (the new page's are sent), passwords, files, and hidden fields other than the page's `was.*`
// (what the page showed, so the stale-page check still judges what the person saw when typing).
// Someone else may save the same record between the session's end and the new sign-in: the kept form also holds
// what its page showed in each field (the fields' defaults), and the new page's defaults are what is stored now.
// A field someone else changed meanwhile is named above the form with their value and the kept one: a field the
// person had not touched takes their value, a field both changed keeps the typed value but waits for the person's
// choice, and the form is not sent until each is chosen. Only then do its `was.*` become the new page's (the person
// has now seen what is stored); until then the old ones make the server's stale-page check refuse it.
(function () {
  "use strict";
  var KEY = "chibo.kept-form";
  var KEPT_MS = 15 * 60 * 1000;
  var NEVER = { csrf: true, form_key: true };
  var body = document.body;
  var mark = body.getAttribute("data-viewer-mark");

  function storage() {
    try { return window.sessionStorage; } catch (error) { return null; }
  }
  var store = storage();
  if (!store) { return; }

  function actionOf(form) {
    return new URL(form.getAttribute("action") || window.location.href, window.location.href).pathname;
  }

  function kept(element) {
    if (!element.name || element.disabled || NEVER[element.name]) { return false; }
    var type = (element.type || "").toLowerCase();
    if (type === "password" || type === "file" || type === "submit" || type === "button" || type === "reset") {
      return false;
    }
    return type !== "hidden" || element.name.indexOf("was.") === 0;
  }

  function fieldsOf(form, rendered) {
    // the kept fields' values as [name, value] pairs: as the person left them, or with `rendered` as the page showed
    // them when it was rendered (their defaults: for a record's form, what was stored)
    var fields = [];
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!kept(element)) { return; }
      var type = (element.type || "").toLowerCase();
      if (type === "checkbox" || type === "radio") {
        if (rendered ? element.defaultChecked : element.checked) { fields.push([element.name, element.value]); }
      } else if (type === "select-one" || type === "select-multiple") {
        var chosen = Array.prototype.filter.call(element.options, function (option) {
          return rendered ? option.defaultSelected : option.selected;
        });
        if (!chosen.length && type === "select-one" && element.options.length) { chosen = [element.options[0]]; }
        chosen.forEach(function (option) { fields.push([element.name, option.value]); });
      } else {
        fields.push([element.name, rendered ? element.defaultValue : element.value]);
      }
    });
    return fields;
  }

  function byName(fields) {
    var values = {};
    fields.forEach(function (pair) { (values[pair[0]] = values[pair[0]] || []).push(pair[1]); });
    return values;
  }

  function same(one, other) {
    return JSON.stringify(one || []) === JSON.stringify(other || []);
  }

  function fill(form, fields, only) {
    // the kept fields (with `only`, the one field of that name) set to `fields`, [name, value] pairs
    var values = byName(fields);
    var used = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!kept(element) || (only && element.name !== only)) { return; }
      if (!Object.prototype.hasOwnProperty.call(values, element.name)) { return; }
      var sent = values[element.name];
      var type = (element.type || "").toLowerCase();
      if (type === "checkbox" || type === "radio") {
        element.checked = sent.indexOf(element.value) !== -1;
      } else if (type === "select-multiple") {
        Array.prototype.forEach.call(element.options, function (option) {
          option.selected = sent.indexOf(option.value) !== -1;
        });
      } else {
        var index = used[element.name] || 0;  // fields of one name, in the page's order
        used[element.name] = index + 1;
        if (index < sent.length) { element.value = sent[index]; }
      }
    });
    // a checkbox or radio group left unticked was sent as nothing: unticked again
    Array.prototype.forEach.call(form.elements, function (element) {
      var type = (element.type || "").toLowerCase();
      var unsent = kept(element) && !values[element.name] && (!only || element.name === only);
      if ((type === "checkbox" || type === "radio") && unsent) {
        element.checked = false;
      }
    });
  }

  function read() {
    try {
      var draft = JSON.parse(store.getItem(KEY) || "null");
      return draft && Date.now() - draft.at < KEPT_MS ? draft : null;
    } catch (error) {
      return null;
    }
  }

  function elementsNamed(form, name) {
    return Array.prototype.filter.call(form.elements, function (element) {
      return element.name === name && kept(element);
    });
  }

  function labelOf(form, name) {
    // the field's own label, or for a group of boxes its fieldset's legend
    var element = elementsNamed(form, name)[0];
    var type = (element.type || "").toLowerCase();
    var group = element.closest("fieldset");
    if ((type === "checkbox" || type === "radio") && group && group.querySelector("legend")) {
      return group.querySelector("legend").textContent.trim();
    }
    var label = element.labels && element.labels[0];
    return label ? label.textContent.trim() : name;
  }

  function said(form, name, values, empty) {
    // the values as the page shows them: an option's or a box's text, never an id
    var words = [];
    elementsNamed(form, name).forEach(function (element) {
      var type = (element.type || "").toLowerCase();
      if (type === "checkbox" || type === "radio") {
        if (values.indexOf(element.value) !== -1) {
          words.push(element.labels && element.labels[0] ? element.labels[0].textContent.trim() : element.value);
        }
      } else if (type === "select-one" || type === "select-multiple") {
        Array.prototype.forEach.call(element.options, function (option) {
          if (values.indexOf(option.value) !== -1 && option.value) { words.push(option.textContent.trim()); }
        });
      }
    });
    if (!elementsNamed(form, name).some(function (element) {
      var type = (element.type || "").toLowerCase();
      return type === "checkbox" || type === "radio" || type.indexOf("select") === 0;
    })) {
      words = values.filter(function (value) { return value !== ""; });
    }
    return words.length ? words.join(", ") : empty;
  }

  function put(form, name, values) {
    // the field named `name` set to `values` (the form's other fields untouched)
    fill(form, values.map(function (value) { return [name, value]; }), name);
  }

  function markWaiting(form, name, unresolved, describedBy) {
    elementsNamed(form, name).forEach(function (element) {
      if (unresolved) {
        element.setAttribute("aria-invalid", "true");
        var described = (element.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
        if (described.indexOf(describedBy) === -1) { described.push(describedBy); }  // its own notes kept
        element.setAttribute("aria-describedby", described.join(" "));
      } else {
        element.removeAttribute("aria-invalid");
      }
    });
  }

  function changedMeanwhile(form, draft, now) {
    // the fields someone else changed since the kept form's page was shown: each named above the form (#kept-form-
    // changes, from the page's #kept-form-changes-parts template, in its language), the ones the person also changed
    // waiting for a choice; the form's `was.*` the new page's once nothing waits
    var template = document.getElementById("kept-form-changes-parts");
    var shown = byName(draft.shown || []);
    var typed = byName(draft.fields);
    var stored = byName(now);
    var wasChanged = Object.keys(stored).some(function (name) {
      return name.indexOf("was.") === 0 && !same(stored[name], typed[name]);
    });
    if (!template || !draft.shown || !wasChanged) { return null; }
    var parts = template.content;
    var box = parts.querySelector("[data-part=box]").cloneNode(true);
    var list = box.querySelector("[data-changes]");
    var empty = parts.querySelector("[data-part=empty]").textContent;
    var waiting = {};
    var names = [];
    Array.prototype.forEach.call(form.elements, function (element) {
      if (kept(element) && element.name.indexOf("was.") !== 0 && names.indexOf(element.name) === -1) {
        names.push(element.name);
      }
    });
    names.forEach(function (name, index) {
      var before = shown[name] || [], theirs = stored[name] || [], mine = typed[name] || [];
      if (same(before, theirs) || same(mine, theirs)) { return; }  // nobody else changed it, or both alike
      var both = !same(mine, before);
      var item = parts.querySelector(both ? "[data-part=conflict]" : "[data-part=taken]").cloneNode(true);
      item.setAttribute("data-field-name", name);
      Array.prototype.forEach.call(item.querySelectorAll("[data-field]"), function (node) {
        node.textContent = labelOf(form, name);
      });
      item.querySelector("[data-theirs]").textContent = said(form, name, theirs, empty);
      if (item.querySelector("[data-kept]")) { item.querySelector("[data-kept]").textContent = said(form, name, mine, empty); }
      var id = "kept-form-change-" + index;
      item.id = id;
      if (!both) {
        put(form, name, theirs);  // untouched by the person: what someone else saved stays, said so
      } else {
        waiting[name] = true;
        markWaiting(form, name, true, id);
        item.setAttribute("data-waiting", "true");
        Array.prototype.forEach.call(item.querySelectorAll("input[type=radio]"), function (radio) {
          radio.name = "kept-form-choice-" + index;
          radio.addEventListener("change", function () {
            put(form, name, radio.value === "theirs" ? theirs : mine);
            delete waiting[name];
            markWaiting(form, name, false, id);
            item.removeAttribute("data-waiting");
            settle();
          });
        });
      }
      list.appendChild(item);
    });
    function settle() {
      if (Object.keys(waiting).length) { return; }
      form.removeAttribute("data-kept-form-waiting");
      box.querySelector("[data-choose]").hidden = true;
      Object.keys(stored).forEach(function (name) {
        if (name.indexOf("was.") === 0) { put(form, name, stored[name]); }  // what is stored has now been seen
      });
    }
    if (Object.keys(waiting).length) { form.setAttribute("data-kept-form-waiting", "true"); }
    settle();
    return list.children.length ? box : null;
  }

  var draft = read();
  var hold = body.getAttribute("data-kept-form") === "hold";
  if (hold) {
    // the sign-in page: a form just sent is held for the page it returns to; anything else is dropped
    if (draft && (draft.state === "sent" || draft.state === "held")) {
      draft.state = "held";
      store.setItem(KEY, JSON.stringify(draft));
    } else {
      store.removeItem(KEY);
    }
  } else {
    store.removeItem(KEY);
    if (draft && draft.state === "held" && mark && draft.mark === mark) {
      var form = Array.prototype.filter.call(document.querySelectorAll("form[method=post]"), function (candidate) {
        return actionOf(candidate) === draft.action;
      })[0];
      var note = document.getElementById("kept-form-note");
      if (form && note) {
        var now = fieldsOf(form, true);  // before filling: what is stored now
        fill(form, draft.fields);
        var shown = note.content.firstElementChild.cloneNode(true);
        form.parentNode.insertBefore(shown, form);
        var changes = changedMeanwhile(form, draft, now);
        if (changes) { form.parentNode.insertBefore(changes, form); }
        form.setAttribute("data-kept-form", "restored");
        (changes || shown).focus();
      }
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || (form.getAttribute("method") || "").toLowerCase() !== "post") { return; }
    if (hold) { return; }  // signing in: the form held stays for the page the sign-in returns to
    if (form.getAttribute("data-kept-form-waiting")) {
      // a field someone else changed meanwhile waits for the person's choice: nothing sent until then
      event.preventDefault();
      var asked = document.querySelector("#kept-form-changes [data-choose]");
      if (asked) {
        asked.hidden = false;
        asked.textContent = asked.textContent;  // said again by screen readers on each try
      }
      var first = document.querySelector("#kept-form-changes [data-waiting] input[type=radio]");
      if (first) { first.focus(); }
      return;
    }
    var action = actionOf(form);
    if (!mark || form.querySelector("input[type=password]") || /\/sign-(in|out)$/.test(action)) {
      store.removeItem(KEY);  // signing out, or a page of nobody signed in: nothing to keep
      return;
    }
    store.setItem(KEY, JSON.stringify({ state: "sent", at: Date.now(), mark: mark, action: action,
      fields: fieldsOf(form, false), shown: fieldsOf(form, true) }));
  });
})();
