// Mythical Mysfits page logic: loads /mysfits (optionally filtered), renders a card per mysfit,
// and sends likes (POST /mysfits/{id}/like, routed to the like service by the load balancer)
// and adoptions (POST /mysfits/{id}/adopt). No libraries, no outside requests.
"use strict";

(function () {
  const list = document.getElementById("mysfits");
  const status = document.getElementById("status");
  const filterButtons = Array.from(document.querySelectorAll("button.filter"));
  let current = null; // {filter, value} or null

  function say(text) {
    status.textContent = text;
  }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function field(dl, name, value, cls) {
    dl.appendChild(el("dt", {}, name));
    const dd = el("dd", cls ? { class: cls } : {}, value);
    dl.appendChild(dd);
    return dd;
  }

  function card(m) {
    const li = el("li", { class: "card", "data-mysfit-id": m.mysfitId });
    li.appendChild(el("img", { src: m.thumbImageUri, alt: "Picture of " + m.name + " the " + m.species }));
    li.appendChild(el("h2", {}, m.name));
    li.appendChild(el("p", { class: "species" }, m.species));
    const dl = el("dl");
    field(dl, "Age", String(m.age));
    field(dl, "Alignment", m.goodevil + " / " + m.lawchaos, "align-" + m.goodevil);
    const likes = field(dl, "Likes", String(m.likes), "likes");
    li.appendChild(dl);
    li.appendChild(el("p", { class: "description" }, m.description));

    const actions = el("div", { class: "actions" });
    const like = el("button", { type: "button", class: "like", "aria-pressed": "false" }, "\u2665 Like");
    like.setAttribute("aria-label", "Like " + m.name);
    like.addEventListener("click", async () => {
      like.disabled = true;
      try {
        const res = await fetch("/mysfits/" + encodeURIComponent(m.mysfitId) + "/like", { method: "POST" });
        if (!res.ok) throw new Error("HTTP " + res.status);
        const body = await res.json();
        likes.textContent = String(body.likes !== undefined ? body.likes : Number(likes.textContent) + 1);
        like.classList.add("liked");
        like.setAttribute("aria-pressed", "true");
        like.textContent = "\u2665 Liked";
        say("You liked " + m.name + ".");
      } catch (err) {
        say("Could not like " + m.name + " (" + err.message + "). Please try again.");
      } finally {
        like.disabled = false;
      }
    });
    actions.appendChild(like);

    const adopt = el("button", { type: "button", class: "adopt" }, m.adopted ? "Adopted" : "Adopt");
    adopt.setAttribute("aria-label", (m.adopted ? "Adopted: " : "Adopt ") + m.name);
    if (m.adopted) adopt.disabled = true;
    adopt.addEventListener("click", async () => {
      adopt.disabled = true;
      try {
        const res = await fetch("/mysfits/" + encodeURIComponent(m.mysfitId) + "/adopt", { method: "POST" });
        if (res.status === 409) {
          say(m.name + " has already been adopted.");
        } else if (!res.ok) {
          throw new Error("HTTP " + res.status);
        } else {
          say("Congratulations, you adopted " + m.name + "!");
        }
        adopt.textContent = "Adopted";
      } catch (err) {
        adopt.disabled = false;
        say("Could not adopt " + m.name + " (" + err.message + ").");
      }
    });
    actions.appendChild(adopt);
    li.appendChild(actions);
    return li;
  }

  async function load() {
    let url = "/mysfits";
    if (current) {
      url += "?filter=" + encodeURIComponent(current.filter) + "&value=" + encodeURIComponent(current.value);
    }
    say("Loading mysfits\u2026");
    try {
      const res = await fetch(url);
      if (!res.ok) throw new Error("HTTP " + res.status);
      const body = await res.json();
      const mysfits = body.mysfits.slice().sort((a, b) => a.name.localeCompare(b.name));
      list.replaceChildren(...mysfits.map(card));
      list.setAttribute("aria-busy", "false");
      say(current
        ? mysfits.length + " mysfits that are " + current.value + "."
        : mysfits.length + " mysfits looking for a home.");
    } catch (err) {
      say("Could not load the mysfits (" + err.message + ").");
    }
  }

  for (const b of filterButtons) {
    b.setAttribute("aria-pressed", "false");
    b.addEventListener("click", () => {
      current = { filter: b.dataset.filter, value: b.dataset.value };
      for (const o of filterButtons) o.setAttribute("aria-pressed", String(o === b));
      load();
    });
  }
  document.getElementById("clear-filter").addEventListener("click", () => {
    current = null;
    for (const o of filterButtons) o.setAttribute("aria-pressed", "false");
    load();
  });

  load();
})();
