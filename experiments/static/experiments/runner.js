/*
 * mvfit trial runner: plays each trial's media, collects one answer per trial, and delivers every
 * answer exactly once.
 *
 * - Answers go to a localStorage outbox *before* they are sent, with a client-generated
 *   idempotency key and the trial's presentation token (proof that the server served this trial);
 *   the outbox is retried with exponential backoff until the server acknowledges (a replayed key is
 *   acknowledged with the stored receipt, never stored twice). Closing the tab or losing the network
 *   loses nothing: the next visit flushes the outbox first.
 * - An answer the server refuses for good (400/413/415 with a `code`) is not retried: the worker is
 *   told, and the trial is presented again so it can be answered afresh.
 * - The server is the source of truth for progress: on load the runner asks which positions are
 *   unanswered and resumes at the first one that is not waiting in the outbox.
 * - One round trip per trial: the response to an answer carries the trial the runner preloads next
 *   (`next`, as the trial fetch returns it); the trial fetch serves the first trials and resumes, and
 *   stands in whenever a response carries none.
 * - Media must play to the end once before answering (no seeking ahead on the first play; replay
 *   allowed). Playback starts from a click or key press, because browsers block unmuted autoplay.
 * - Playback errors and stalls are recorded and sent with the trial's answer.
 * No framework, no build step.
 */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("runner-config").textContent);
  var preview = cfg.mode === "preview";
  var OUTBOX = "mvfit.outbox." + cfg.storageKey;
  var csrfInput = document.querySelector("input[name=csrfmiddlewaretoken]");
  var stage = document.getElementById("trial");
  var banner = document.getElementById("banner");
  var preloadBox = document.getElementById("preload");
  var debugBox = document.getElementById("debug");

  var state = null; // {assignment, total, unanswered: [...]}
  var doneSet = new Set(); // positions answered (server, outbox, or this page)
  var trials = new Map(); // position -> Promise of trial payload
  var preloaded = new Map(); // position -> [media elements]
  // position -> idempotency key of the answer whose response will carry that trial ("next"): one
  // request per answer. Preloading it waits for that response instead of fetching it.
  var carried = new Map();
  var current = null;
  var lastPrompt = null; // the question of the trial shown before: a new one gets an interstitial
  var sending = false;
  var retryTimer = null;
  var attempt = 0;
  var finished = false;
  var notice = ""; // shown while an answer the server refused waits to be given again
  var refused = new Set(); // positions whose answer was refused and must be given again
  // Within the server's limits (experiments/answer_input.py: 100 events of <= 512 bytes per answer).
  var MAX_EVENTS = 60;
  var MAX_EVENT_TEXT = 100;

  // ---------------------------------------------------------------- outbox
  // Browsers that block third-party storage deny localStorage inside MTurk's cross-site iframe; the
  // outbox then lives in memory (answers are still sent and retried; only a reload forgets unsent ones).
  var memoryOutbox = null;
  function loadOutbox() {
    if (memoryOutbox) return memoryOutbox.slice();
    try {
      return JSON.parse(localStorage.getItem(OUTBOX) || "[]");
    } catch (e) {
      return [];
    }
  }
  function saveOutbox(box) {
    try {
      localStorage.setItem(OUTBOX, JSON.stringify(box));
      memoryOutbox = null;
    } catch (e) {
      memoryOutbox = box.slice();
    }
  }
  function removeFromOutbox(key) {
    saveOutbox(
      loadOutbox().filter(function (a) {
        return a.idempotency_key !== key;
      })
    );
  }
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }
  function headers() {
    var h = { "Content-Type": "application/json" };
    if (csrfInput) h["X-CSRFToken"] = csrfInput.value;
    return h;
  }

  function flush() {
    if (sending) return;
    var box = loadOutbox();
    if (!box.length) {
      maybeFinish();
      return;
    }
    sending = true;
    var answer = box[0];
    fetch(cfg.answerUrl, {
      method: "POST",
      headers: headers(),
      body: JSON.stringify(answer),
      credentials: "same-origin",
      cache: "no-store",
    })
      .then(function (r) {
        return r
          .json()
          .catch(function () {
            return {};
          })
          .then(function (body) {
            return { status: r.status, body: body };
          });
      })
      .then(
        function (res) {
          sending = false;
          if (res.status !== 400 && res.status !== 413 && res.status !== 415 && res.status < 500) {
            settleCarried(answer, res.body);
          }
          if (res.status === 200 || res.status === 409 || res.status === 404) {
            // Stored now, stored before (replay / already answered), or its assignment is gone: done with it.
            if (res.status !== 200) console.warn("answer not stored:", res.status, res.body);
            removeFromOutbox(answer.idempotency_key);
            attempt = 0;
            if (refused.delete(answer.position) && !refused.size) notice = "";
            setOffline(false);
            if (res.body && res.body.done && state) state.done = true;
            flush();
          } else if (res.status === 400 || res.status === 413 || res.status === 415) {
            settleCarried(answer, null);
            // Refused for good: sending it again would get the same answer. Tell the worker and ask
            // for that trial again (a fresh fetch brings a fresh presentation token).
            console.warn("answer refused:", res.status, res.body);
            removeFromOutbox(answer.idempotency_key);
            attempt = 0;
            refused.add(answer.position);
            if (state && answer.assignment === state.assignment) {
              doneSet.delete(answer.position);
              trials.delete(answer.position);
              if (state.unanswered.indexOf(answer.position) < 0) {
                state.unanswered.push(answer.position);
                state.unanswered.sort(function (a, b) {
                  return a - b;
                });
              }
            }
            notice =
              "One of your answers could not be saved (" +
              ((res.body && res.body.code) || "HTTP " + res.status) +
              "): " +
              ((res.body && res.body.error) || "the server refused it.") +
              " Please answer that trial again.";
            setOffline(false);
            if (state && !current && !finished) advance(); // (before the state arrives, start() does it)
            flush();
          } else if (res.status === 410) {
            removeFromOutbox(answer.idempotency_key);
            showBanner(res.body.error || "Your session expired.");
            setTimeout(reload, 2500);
          } else {
            scheduleRetry();
          }
        },
        function () {
          sending = false;
          setOffline(true);
          scheduleRetry();
        }
      );
  }

  // The answer's response is in: keep the trial it carries, and preload what it was expected to carry
  // (from the response, or by a fetch when it carried none).
  function settleCarried(answer, body) {
    var next = body && body.next;
    if (next && state && answer.assignment === state.assignment && !trials.has(next.position)) {
      trials.set(next.position, Promise.resolve(next));
    }
    carried.forEach(function (key, position) {
      if (key !== answer.idempotency_key) return;
      carried.delete(position);
      if (state && !finished && !doneSet.has(position) && !(current && current.payload.position === position)) {
        preload(position);
      }
    });
  }

  function scheduleRetry() {
    attempt += 1;
    var delay = Math.min(30000, 500 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(flush, delay);
  }

  // The worker leaving the page (another tab, another window, the phone locked) is part of the record.
  document.addEventListener("visibilitychange", function () {
    note({ type: document.hidden ? "hidden" : "visible" });
  });
  window.addEventListener("blur", function () {
    note({ type: "blur" });
  });
  window.addEventListener("focus", function () {
    note({ type: "focus" });
  });

  window.addEventListener("online", function () {
    clearTimeout(retryTimer);
    attempt = 0;
    flush();
    if (!current && state && !finished) advance();
  });

  // ---------------------------------------------------------------- banners & progress
  function showBanner(text) {
    banner.textContent = text;
    banner.hidden = !text;
  }
  function setOffline(offline) {
    showBanner(
      offline
        ? "Connection lost. Your answers are kept on this device and will be sent when the connection is back."
        : notice
    );
  }
  function updateProgress() {
    if (!state) return;
    var pct = state.total ? Math.round((100 * doneSet.size) / state.total) : 0;
    document.getElementById("progress-fill").style.width = pct + "%";
    document.getElementById("progress-text").textContent = doneSet.size + " of " + state.total + " done";
  }
  function reload() {
    window.location.assign(cfg.reloadUrl);
  }

  function maybeFinish() {
    if (!state || doneSet.size < state.total) return;
    if (loadOutbox().length) return;
    finished = true;
    if (preview) {
      stage.innerHTML = '<h2>End of preview</h2><p class="lead">Nothing was stored.</p>';
      return;
    }
    stage.innerHTML = '<p class="lead">Saving…</p>';
    reload();
  }

  // ---------------------------------------------------------------- trials
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok) {
        var err = new Error("HTTP " + r.status);
        err.status = r.status;
        throw err;
      }
      return r.json();
    });
  }
  function trialUrl(position) {
    return cfg.trialUrl.replace(/\/0(\?|$)/, "/" + position + "$1");
  }
  function loadTrial(position) {
    if (!trials.has(position)) {
      var promise = getJSON(trialUrl(position));
      promise.catch(function () {
        trials.delete(position);
      });
      trials.set(position, promise);
    }
    return trials.get(position);
  }
  function nextPosition(after) {
    for (var i = 0; i < state.unanswered.length; i++) {
      var p = state.unanswered[i];
      if (p > after && !doneSet.has(p)) return p;
    }
    return null;
  }

  function start() {
    flush();
    getJSON(cfg.stateUrl).then(begin, function (err) {
      if (err.status === 404) {
        reload();
        return;
      }
      showBanner("Cannot reach the server. Retrying…");
      setTimeout(start, 3000);
    });
  }

  // The state is in (from the state fetch, or from the join): resume at the first open position.
  function begin(s) {
    state = s;
    doneSet = new Set();
    for (var p = 0; p < s.total; p++) if (s.unanswered.indexOf(p) < 0) doneSet.add(p);
    loadOutbox().forEach(function (a) {
      if (a.assignment === s.assignment) doneSet.add(a.position);
    });
    if (s.done) {
      finished = true;
      reload();
      return;
    }
    var bar = document.querySelector(".progress");
    if (bar) bar.hidden = false;
    advance();
  }

  // The start card: Start joins in one request (POST api/begin answers with the state) and the first trial
  // replaces the card, without a page load. A refusal is shown in place; one that is a step of the worker
  // page (screening not finished, screened out) reloads it, and so does an unknown session.
  function refusedCard(text) {
    stage.innerHTML = "";
    var h = document.createElement("h1");
    h.textContent = "No work available";
    var p = document.createElement("p");
    p.className = "lead";
    p.setAttribute("data-testid", "refused");
    p.textContent = text;
    stage.appendChild(h);
    stage.appendChild(p);
  }
  function awaitStart() {
    flush(); // answers of an earlier session of this participant still in the outbox go first
    var form = document.getElementById("begin-form");
    var button = form.querySelector("button");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (button.disabled) return;
      button.disabled = true;
      function retryLater() {
        button.disabled = false;
        showBanner("Cannot reach the server. Press Start again in a moment.");
      }
      fetch(cfg.beginUrl, { method: "POST", credentials: "same-origin", cache: "no-store" }).then(function (r) {
        r.json().then(
          function (body) {
            if (r.status === 200) {
              showBanner("");
              begin(body);
            } else if (r.status === 404 || body.reload) {
              reload();
            } else if (body.error) {
              refusedCard(body.error);
            } else {
              retryLater();
            }
          },
          function () {
            if (r.status === 404) reload();
            else retryLater(); // not JSON: a proxy's error page, a server error
          }
        );
      }, retryLater);
    });
  }

  var advances = 0; // only the latest advance() may present its trial
  function advance() {
    current = null;
    var turn = ++advances;
    updateProgress();
    var position = nextPosition(-1);
    if (position === null) {
      stage.innerHTML = '<p class="lead">Saving your answers…</p>';
      flush();
      maybeFinish();
      return;
    }
    loadTrial(position).then(
      function (payload) {
        if (turn !== advances) return;
        present(payload);
        var following = nextPosition(position);
        if (following !== null) preload(following);
      },
      function (err) {
        if (turn !== advances) return;
        if (err.status === 404) {
          reload(); // the session or its assignment is gone: the server page says what to do next
          return;
        }
        stage.innerHTML = '<p class="lead">Waiting for the connection…</p>';
        if (err.status !== 403) setOffline(true);
        setTimeout(advance, 2000 + Math.random() * 1000);
      }
    );
  }

  function makeMedia(m) {
    var el = document.createElement("video");
    el.preload = "auto";
    el.playsInline = true;
    el.setAttribute("playsinline", "");
    el.disablePictureInPicture = true;
    el.setAttribute("controlslist", "nodownload noplaybackrate noremoteplayback");
    el.src = m.url;
    return el;
  }

  function preload(position) {
    if (carried.has(position)) return; // the pending answer's response brings it
    loadTrial(position).then(
      function (payload) {
        if (preloaded.has(position)) return;
        var els = payload.media.map(makeMedia);
        els.forEach(function (el) {
          preloadBox.appendChild(el);
        });
        preloaded.set(position, els);
      },
      function () {}
    );
  }

  // When the question changes within a bundle (a preference test's video->music block followed by its
  // music->video block, or any design mixing question kinds), say so before the first trial of the new
  // kind instead of changing only the heading.
  function present(payload) {
    var changed = lastPrompt !== null && payload.prompt !== lastPrompt;
    lastPrompt = payload.prompt;
    if (!changed) return show(payload);
    // A stand-in until Continue: nothing can be answered, and nothing advances past it meanwhile.
    current = { payload: payload, slots: [], events: [], plays: 0, answered: true, readyAt: null };
    stage.innerHTML = "";
    delete stage.dataset.position;
    var card = document.createElement("section");
    card.className = "card interstitial";
    card.id = "interstitial";
    var title = document.createElement("h2");
    title.textContent = "New question from here on";
    var text = document.createElement("p");
    text.className = "lead";
    text.textContent = payload.prompt;
    var go = document.createElement("button");
    go.type = "button";
    go.className = "primary";
    go.id = "interstitial-continue";
    go.textContent = "Continue";
    go.addEventListener("click", function () { show(payload); });
    card.appendChild(title);
    card.appendChild(text);
    card.appendChild(go);
    stage.appendChild(card);
    go.focus();
  }

  function show(payload) {
    var position = payload.position;
    var els = preloaded.get(position) || payload.media.map(makeMedia);
    preloaded.delete(position);
    current = {
      payload: payload,
      slots: [],
      plays: 0,
      events: [],
      presentedAt: new Date().toISOString(),
      shownAt: performance.now(),
      readyAt: null,
      answered: false,
    };
    stage.innerHTML = "";
    stage.dataset.position = position;
    var prompt = document.createElement("h2");
    prompt.className = "prompt";
    prompt.textContent = payload.prompt;
    stage.appendChild(prompt);
    var row = document.createElement("div");
    row.className = "stage " + (payload.media.length > 1 ? "pair" : "single");
    stage.appendChild(row);
    payload.media.forEach(function (m, i) {
      row.appendChild(buildSlot(m, els[i]));
    });
    var answers = document.createElement("div");
    answers.className = "answers " + payload.answer;
    if (payload.answer === "rating") {
      payload.scale.forEach(function (s) {
        answers.appendChild(answerButton(s.value, s.value + "", s.label, function () {
          answer({ rating: s.value });
        }));
      });
    } else {
      answers.appendChild(answerButton("left", "◀ Left", "fits better", function () {
        answer({ chosen_side: "left" });
      }));
      answers.appendChild(answerButton("right", "Right ▶", "fits better", function () {
        answer({ chosen_side: "right" });
      }));
    }
    stage.appendChild(answers);
    var hint = document.createElement("p");
    hint.className = "hint";
    hint.id = "hint";
    hint.textContent =
      payload.media.length > 1 ? "Play both options to the end to answer." : "Play the clip to the end to answer.";
    stage.appendChild(hint);
    setAnswerable(false);
    if (debugBox) debugBox.textContent = JSON.stringify(payload.debug, null, 2);
  }

  function answerButton(value, big, small, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "answer";
    b.dataset.value = value;
    b.innerHTML = "<strong></strong><span></span>";
    b.querySelector("strong").textContent = big;
    b.querySelector("span").textContent = small;
    b.addEventListener("click", onClick);
    return b;
  }

  function setAnswerable(on) {
    stage.querySelectorAll("button.answer").forEach(function (b) {
      b.disabled = !on;
    });
    var hint = document.getElementById("hint");
    if (hint && on) hint.textContent = "Answer with a click or the keyboard (" +
      (current.payload.answer === "rating" ? "1–7" : "← / →") + "). You can replay first.";
  }

  function buildSlot(m, el) {
    var figure = document.createElement("figure");
    figure.className = "option";
    figure.dataset.slot = m.slot;
    var player = document.createElement("div");
    player.className = "player";
    player.appendChild(el);
    figure.appendChild(player);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "play";
    button.textContent = "▶ Play";
    figure.appendChild(button);
    if (m.slot !== "main") {
      var caption = document.createElement("figcaption");
      caption.textContent = m.slot === "left" ? "Left" : "Right";
      figure.appendChild(caption);
    }
    var slot = { media: m, el: el, button: button, played: false, maxTime: 0 };
    current.slots.push(slot);
    var record = function (type, extra) {
      var e = { type: type, slot: m.slot, at: Math.round(el.currentTime * 1000) / 1000 };
      note(Object.assign(e, extra || {}));
    };
    el.addEventListener("play", function () {
      record(slot.played ? "replay" : "play");
    });
    el.addEventListener("pause", function () {
      if (!el.ended) record("pause");
    });
    el.addEventListener("ended", function () {
      record("ended");
    });
    button.addEventListener("click", function () {
      playSlot(slot);
    });
    el.addEventListener("timeupdate", function () {
      if (!slot.played) slot.maxTime = Math.max(slot.maxTime, el.currentTime);
    });
    el.addEventListener("seeking", function () {
      // No skipping ahead on the first play-through.
      if (!slot.played && el.currentTime > slot.maxTime + 0.5) el.currentTime = slot.maxTime;
    });
    el.addEventListener("ended", function () {
      button.textContent = "↻ Play again";
      button.disabled = false;
      figure.classList.remove("playing");
      if (!slot.played) {
        slot.played = true;
        figure.classList.add("played");
        var all = current.slots.every(function (s) {
          return s.played;
        });
        if (all && current.readyAt === null) {
          current.readyAt = performance.now();
          setAnswerable(true);
        }
      }
    });
    var failed = function () {
      record("error", { code: el.error ? el.error.code : null });
      current.failures = (current.failures || 0) + 1;
      offerSkip();
      figure.classList.remove("playing");
      button.disabled = false;
      button.textContent = "⟳ Retry";
      slot.failed = true;
    };
    el.addEventListener("error", failed);
    // A preloaded clip that failed while it waited in the preload box fired its error event before this
    // listener existed: offer Retry (and count the failure) now instead of a Play that cannot play.
    if (el.error) failed();
    el.addEventListener("stalled", function () {
      record("stalled");
    });
    el.addEventListener("waiting", function () {
      record("waiting");
    });
    return figure;
  }

  // Playback events of the current trial, at most MAX_EVENTS; the last one counts those left out. Each
  // carries ``t``: milliseconds since the trial was shown.
  function note(event) {
    if (!current) return;
    if (event.t === undefined && current.shownAt !== undefined) event.t = Math.round(performance.now() - current.shownAt);
    var events = current.events;
    if (events.length < MAX_EVENTS - 1) {
      events.push(event);
    } else if (events.length === MAX_EVENTS - 1) {
      events.push({ type: "truncated", dropped: 1 });
    } else {
      events[events.length - 1].dropped += 1;
    }
  }

  function playSlot(slot) {
    current.slots.forEach(function (other) {
      if (other !== slot && !other.el.paused) other.el.pause();
    });
    if (slot.failed) {
      slot.failed = false;
      slot.el.load();
    }
    if (slot.played || slot.el.ended) slot.el.currentTime = 0;
    current.plays += 1;
    slot.button.disabled = true;
    slot.button.textContent = "Playing…";
    slot.button.parentNode.classList.add("playing");
    var p = slot.el.play();
    if (p && p.catch) {
      p.catch(function (err) {
        note({ type: "play_rejected", slot: slot.media.slot, message: String(err && err.name).slice(0, MAX_EVENT_TEXT) });
        slot.button.disabled = false;
        slot.button.textContent = "▶ Play";
      });
    }
  }

  // After repeated playback errors on a trial the worker may skip it: it is stored as skipped (no
  // answer), does not count as a judgment, and is offered to someone else.
  function offerSkip() {
    if (!cfg.skipAfterFailures || current.failures < cfg.skipAfterFailures || document.getElementById("skip-trial")) return;
    var box = document.createElement("p");
    box.className = "banner";
    box.id = "skip-box";
    box.textContent = "This clip will not play. ";
    var button = document.createElement("button");
    button.type = "button";
    button.id = "skip-trial";
    button.textContent = "Skip this trial";
    button.addEventListener("click", skip);
    box.appendChild(button);
    stage.appendChild(box);
  }

  function skip() {
    if (!current || current.answered) return;
    current.readyAt = current.readyAt === null ? performance.now() : current.readyAt;
    current.plays = Math.max(current.plays, 1);
    answer({ skipped: "playback" });
  }

  function answer(value) {
    if (!current || current.answered || current.readyAt === null) return;
    current.answered = true;
    current.slots.forEach(function (s) {
      s.el.pause();
    });
    var a = {
      idempotency_key: newKey(),
      assignment: state.assignment,
      position: current.payload.position,
      rt_ms: Math.round(performance.now() - current.readyAt),
      play_count: current.plays,
      presented_at: current.presentedAt,
      answered_at: new Date().toISOString(),
      events: current.events,
      presentation: current.payload.presentation,
    };
    Object.assign(a, value);
    var ahead = a.position + (cfg.preloadWindow || 0);
    if (cfg.preloadWindow && ahead < state.total && !trials.has(ahead) && !doneSet.has(ahead)) {
      carried.set(ahead, a.idempotency_key);
    }
    var box = loadOutbox();
    box.push(a); // persisted before the first send: a crash or reload cannot lose it
    saveOutbox(box);
    doneSet.add(a.position);
    flush();
    advance();
  }

  document.addEventListener("keydown", function (e) {
    if (!current || e.altKey || e.ctrlKey || e.metaKey) return;
    var kind = current.payload.answer;
    if (kind === "rating" && /^[1-7]$/.test(e.key)) {
      answer({ rating: parseInt(e.key, 10) });
    } else if (kind === "choice" && e.key === "ArrowLeft") {
      answer({ chosen_side: "left" });
    } else if (kind === "choice" && e.key === "ArrowRight") {
      answer({ chosen_side: "right" });
    } else if (e.key === " ") {
      e.preventDefault();
      var next =
        current.slots.find(function (s) {
          return !s.played;
        }) || current.slots[0];
      if (next.el.paused) playSlot(next);
    }
  });

  if (cfg.beginUrl) awaitStart();
  else start();
})();
