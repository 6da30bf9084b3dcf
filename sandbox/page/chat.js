// The sandbox chat page: pick a persona, then chat with the bot as that person.
// Bot text is drawn from `text` + `entities` with DOM nodes only (never innerHTML), like a
// Telegram app does. Entity offsets count UTF-16 code units, which is what JS strings index.
"use strict";

const API = "/sandbox/api";
const USSD_GATEWAY = "/sandbox/ussd";  // the emulated mobile operator (feature-phone personas)
const POLL_SECONDS = 25;

const state = {
  persona: null,        // {user_id, first_name, last_name, language_code, phone_number, ...}
  seq: 0,               // last event seen
  poll: null,           // AbortController of the running long poll
  generation: 0,        // bumps on persona switch; stale loops stop
  messages: new Map(),  // message_id -> {bubble, keyboard}
  replyKeyboard: null,  // ReplyKeyboardMarkup the bot last sent, until removed
  keyboardHidden: false,
  commands: [],
  personas: [],
  ussd: {session: null, busy: false, turn: 0, seq: 0},  // the feature phone's USSD dialog
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  };
  const response = await fetch(API + path, options);
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
  return answer;
}

// -- people ---------------------------------------------------------------------------------
const ROLE_NAMES = {
  citizen: "Người dân (Citizens)",
  volunteer: "Tình nguyện viên (Volunteers)",
  receptionist: "Nhân viên tiếp đón (Clinic reception)",
  station: "Trạm y tế (Health stations, web console)",
  staff: "Nhân viên (Staff)",
  feature_phone: "📟 Điện thoại phổ thông (Feature phones, USSD)",
};
const ROLE_NOTES = {
  feature_phone: "Không có Telegram: bấm mã USSD như trên điện thoại bàn phím. (No Telegram: dial the USSD code.)",
};

function fullName(p) {
  return [p.last_name, p.first_name].filter(Boolean).join(" ") || `#${p.user_id}`;
}

async function loadPersonas() {
  const list = $("persona-list");
  try {
    state.personas = await api("/personas");
  } catch (error) {
    list.replaceChildren(el("p", {class: "muted", text: `Không tải được (Could not load): ${error.message}`}));
    return;
  }
  const groups = new Map();
  for (const p of state.personas) {
    const role = p.role || "citizen";
    if (!groups.has(role)) groups.set(role, []);
    groups.get(role).push(p);
  }
  const nodes = [];
  if (!state.personas.length) {
    nodes.push(el("p", {class: "muted", text: "Chưa có người thử nào (No personas). Dùng “Một người mới”."}));
  }
  for (const [role, people] of groups) {
    nodes.push(el("h3", {text: ROLE_NAMES[role] || role}));
    if (ROLE_NOTES[role]) nodes.push(el("p", {class: "role-note", text: ROLE_NOTES[role]}));
    for (const p of people) {
      const keypad = isFeaturePhone(p);
      nodes.push(el("button", {
        type: "button", class: keypad ? "persona keypad-phone" : "persona", "data-testid": `persona-${p.user_id}`,
        "data-user-id": p.user_id, "aria-pressed": "false", onclick: () => choose(p),
      }, el("span", {class: "persona-name"},
            keypad ? el("span", {class: "badge", text: "📟 USSD"}) : null, fullName(p)),
         p.hint ? el("span", {class: "persona-hint", text: p.hint}) : null));
    }
  }
  list.replaceChildren(...nodes);
  const wanted = Number(new URLSearchParams(location.hash.slice(1)).get("user"));
  const again = state.personas.find((p) => p.user_id === wanted);
  if (again) choose(again);
}

// Above Telegram's 52 significant bits, so no real account's id (sandbox/personas.py), and
// below 2**53, where JavaScript numbers are still exact.
const GUEST_BASE = 2 ** 52 + 4 * 2 ** 48;

function newPerson() {
  const userId = GUEST_BASE + Math.floor(Math.random() * 99999999);
  choose({user_id: userId, first_name: "Khách", last_name: "", language_code: "vi",
          phone_number: null, role: "new", hint: ""});
}

// A Telegram account always has a phone number even when the health record has none.
function phoneOf(p) {
  return p.phone_number || `849${String(p.user_id).slice(-8).padStart(8, "0")}`;
}

function isFeaturePhone(p) {
  return p.role === "feature_phone";
}

// -- choosing a person -------------------------------------------------------------------------
async function choose(persona) {
  state.generation += 1;
  const generation = state.generation;
  if (state.poll) state.poll.abort();
  state.persona = persona;
  state.messages.clear();
  state.seq = 0;
  delete $("messages").dataset.userId;  // set again once this person's chat is drawn
  history.replaceState(null, "", `#user=${persona.user_id}`);
  for (const button of document.querySelectorAll(".persona")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.userId) === persona.user_id));
  }
  $("app").dataset.view = "chat";
  drawPersonaCard(persona);
  if (isFeaturePhone(persona)) {
    openFeaturePhone(persona);
    return;
  }
  closeFeaturePhone();
  $("chat-title").textContent = fullName(persona);
  $("chat-status").textContent = `Telegram ID ${persona.user_id} · ${persona.language_code || "vi"}`;
  $("message-input").disabled = false;
  $("send-button").disabled = false;
  closeMenu();
  const chat = await api(`/chats/${persona.user_id}?language_code=${encodeURIComponent(persona.language_code || "")}`);
  if (generation !== state.generation) return;
  const box = $("messages");
  box.replaceChildren(emptyChat(chat.description));
  for (const message of chat.messages) drawMessage(message, false);
  box.dataset.userId = String(persona.user_id);  // the chat on screen is this person's
  state.seq = chat.last;
  state.commands = chat.commands || [];
  state.replyKeyboard = chat.reply_keyboard;
  state.keyboardHidden = chat.reply_keyboard_hidden;
  drawReplyKeyboard();
  updateEmptyState();
  scrollDown();
  $("message-input").focus();
  pollLoop(generation);
}

// The details a tester types for this person, in view while chatting (synthetic people only).
function drawPersonaCard(p) {
  const card = $("persona-card");
  const detail = (label, value, testid) => el("span", {class: "detail"},
    el("span", {class: "label", text: label}), " ",
    el("strong", {class: "value", "data-testid": testid, text: value}));
  const parts = [];
  if (p.personal_id) {
    const keypad = isFeaturePhone(p);
    parts.push(detail("Số định danh (ID)", p.personal_id, "persona-personal-id"));
    const born = keypad ? p.birth_date.replaceAll("/", "") : p.birth_date;  // a keypad types digits
    parts.push(detail(keypad ? "Ngày sinh, gõ liền (Born, typed)" : "Ngày sinh (Born)", born,
                      "persona-birth-date"));
    if (p.role === "citizen" && !p.phone_number) {
      const note = "Hồ sơ không có số điện thoại (No phone on record)";
      parts.push(el("span", {class: "detail", text: note}));
    }
  } else if (p.hint) {
    parts.push(el("span", {class: "detail", text: p.hint}));
  } else {
    parts.push(el("span", {class: "detail", text: "Không có hồ sơ (No record)"}));
  }
  if (p.desk_url) {  // reception and health station staff also work in the web console
    parts.push(el("a", {class: "detail", href: p.desk_url, target: "_blank", "data-testid": "persona-desk",
                        text: "Mở bàn làm việc trên web (Open the web console)"}));
  }
  card.replaceChildren(...parts);
  card.hidden = false;
}

function emptyChat(description) {
  return el("div", {class: "empty-chat", id: "empty-chat"},
    el("p", {class: "bot-description", id: "bot-description", text: description || ""}),
    el("p", {class: "muted", text: "Chưa có tin nhắn. Bấm BẮT ĐẦU hoặc gõ /start. (No messages yet.)"}));
}

function updateEmptyState() {
  const empty = state.messages.size === 0;
  const placeholder = $("empty-chat");
  if (placeholder) placeholder.hidden = !empty;
  $("start-button").hidden = !empty;
}

// -- the event stream --------------------------------------------------------------------------
async function pollLoop(generation) {
  while (generation === state.generation) {
    const controller = new AbortController();
    state.poll = controller;
    try {
      const url = `${API}/chats/${state.persona.user_id}/events?after=${state.seq}&timeout=${POLL_SECONDS}`;
      const response = await fetch(url, {signal: controller.signal});
      const answer = await response.json();
      if (generation !== state.generation) return;
      for (const event of answer.events) applyEvent(event);
      state.seq = Math.max(state.seq, answer.last);
    } catch (error) {
      if (controller.signal.aborted || generation !== state.generation) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

function applyEvent(event) {
  if (event.seq <= state.seq) return;
  if (event.kind === "message" || event.kind === "edit") {
    drawMessage(event.message, event.kind === "edit");
    const markup = event.message.reply_markup;
    if (markup && markup.keyboard) {
      state.replyKeyboard = markup;
      state.keyboardHidden = false;
      drawReplyKeyboard();
    } else if (markup && markup.remove_keyboard) {
      state.replyKeyboard = null;
      drawReplyKeyboard();
    } else if (markup && markup.force_reply) {
      $("message-input").placeholder = markup.input_field_placeholder || "Trả lời… (Reply)";
      $("message-input").focus();
    }
    if (event.kind === "message") {
      setStatus(null);
      scrollDown();
    } else if (isNewest(event.message.message_id)) {
      scrollDown();  // the newest message grew: its buttons stay in view
    }
  } else if (event.kind === "delete") {
    const drawn = state.messages.get(event.message.message_id);
    if (drawn) {
      drawn.bubble.remove();
      if (drawn.keyboard) drawn.keyboard.remove();
      state.messages.delete(event.message.message_id);
    }
  } else if (event.kind === "callback_answer") {
    const answer = event.callback_answer;
    if (answer.text && answer.show_alert) showAlert(answer.text);
    else if (answer.text) showToast(answer.text);
  } else if (event.kind === "chat_action") {
    setStatus(event.action === "typing" ? "đang nhập… (typing…)" : `${event.action}…`);
  }
  updateEmptyState();
}

function isNewest(messageId) {
  return Math.max(...state.messages.keys()) === messageId;
}

let statusTimer = null;
function setStatus(text) {
  clearTimeout(statusTimer);
  if (!state.persona || isFeaturePhone(state.persona)) return;
  $("chat-status").textContent = text || `Telegram ID ${state.persona.user_id} · ${state.persona.language_code || "vi"}`;
  if (text) statusTimer = setTimeout(() => setStatus(null), 5000);
}

// -- drawing messages --------------------------------------------------------------------------
function drawMessage(message, edited) {
  const fromBot = Boolean(message.from && message.from.is_bot);
  const bubble = el("div", {
    class: fromBot ? "bubble" : "bubble mine",
    "data-testid": fromBot ? "bot-message" : "user-message",
    "data-message-id": message.message_id,
  });
  if (message.reply_to_message) {
    const quoted = message.reply_to_message;
    bubble.append(el("div", {class: "quote", text: (quoted.text || quoted.caption || "…").slice(0, 120)}));
  }
  if (message.photo && message.photo.length) {
    const largest = message.photo[message.photo.length - 1];
    bubble.append(el("img", {src: largest.url, alt: "Ảnh (Photo)", width: largest.width, height: largest.height,
                             "data-testid": "bot-photo", loading: "lazy"}));
  }
  const body = el("div", {class: "body"});
  if (message.contact) {
    body.append(`📞 ${message.contact.phone_number}`);
  } else if ("text" in message) {
    body.append(renderEntities(message.text, message.entities || []));
  } else if (message.caption) {
    body.append(renderEntities(message.caption, message.caption_entities || []));
  }
  bubble.append(body);
  const time = new Date(message.date * 1000).toLocaleTimeString("vi-VN", {hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh"});
  bubble.append(el("div", {class: "meta", text: message.edit_date ? `đã sửa (edited) ${time}` : time}));

  const markup = message.reply_markup;
  const keyboard = markup && markup.inline_keyboard ? drawInlineKeyboard(message.message_id, markup) : null;
  const drawn = state.messages.get(message.message_id);
  if (drawn) {  // an edit: replace in place
    drawn.bubble.replaceWith(bubble);
    if (drawn.keyboard) drawn.keyboard.remove();
    if (keyboard) bubble.after(keyboard);
    if (edited) bubble.classList.add("flash");
  } else {
    $("messages").append(bubble);
    if (keyboard) bubble.after(keyboard);
  }
  state.messages.set(message.message_id, {bubble, keyboard});
}

function drawInlineKeyboard(messageId, markup) {
  const box = el("div", {class: "inline-keyboard", "data-testid": "inline-keyboard", "data-message-id": messageId});
  for (const row of markup.inline_keyboard) {
    const line = el("div", {class: "inline-row"});
    for (const button of row) {
      if (button.url) {
        line.append(el("a", {href: safeUrl(button.url), target: "_blank", rel: "noopener noreferrer",
                             class: "url-button", "data-testid": "inline-button", text: button.text}));
      } else {
        line.append(el("button", {
          type: "button", "data-testid": "inline-button", "data-callback-data": button.callback_data || "",
          text: button.text, onclick: () => press(messageId, button.callback_data),
        }));
      }
    }
    box.append(line);
  }
  return box;
}

function safeUrl(url) {
  try {
    const parsed = new URL(url, location.href);
    return ["http:", "https:", "tg:", "mailto:"].includes(parsed.protocol) ? parsed.href : "#";
  } catch (error) {
    return "#";
  }
}

// Entities may nest; when one closes inside others, those are closed and reopened around it.
function renderEntities(text, entities) {
  const fragment = document.createDocumentFragment();
  const sorted = [...entities].sort((a, b) => a.offset - b.offset || b.length - a.length);
  const bounds = new Set([0, text.length]);
  for (const e of sorted) { bounds.add(e.offset); bounds.add(Math.min(e.offset + e.length, text.length)); }
  const points = [...bounds].filter((p) => p <= text.length).sort((a, b) => a - b);
  let open = [];  // [{entity, node}]
  const parent = () => (open.length ? open[open.length - 1].node : fragment);
  for (let i = 0; i < points.length; i++) {
    const position = points[i];
    const ending = open.findIndex((o) => o.entity.offset + o.entity.length <= position);
    if (ending !== -1) {
      const reopen = open.slice(ending).filter((o) => o.entity.offset + o.entity.length > position);
      open = open.slice(0, ending);
      for (const o of reopen) {
        const node = entityNode(o.entity, text);
        parent().append(node);
        open.push({entity: o.entity, node});
      }
    }
    for (const entity of sorted) {
      if (entity.offset === position && entity.length > 0) {
        const node = entityNode(entity, text);
        parent().append(node);
        open.push({entity, node});
      }
    }
    if (i + 1 < points.length) parent().append(text.slice(position, points[i + 1]));
  }
  return fragment;
}

function entityNode(entity, text) {
  const value = text.slice(entity.offset, entity.offset + entity.length);
  switch (entity.type) {
    case "bold": return el("strong");
    case "italic": return el("em");
    case "underline": return el("u");
    case "strikethrough": return el("s");
    case "code": return el("code");
    case "pre": return el("pre", {"data-language": entity.language});
    case "blockquote": return el("blockquote");
    case "expandable_blockquote": return el("blockquote", {class: "expandable"});
    case "spoiler": {
      const node = el("span", {class: "spoiler", title: "Bấm để xem (Tap to reveal)"});
      node.addEventListener("click", () => node.classList.add("revealed"));
      return node;
    }
    case "text_link": return el("a", {href: safeUrl(entity.url), target: "_blank", rel: "noopener noreferrer"});
    case "url": return el("a", {href: safeUrl(/^[a-z]+:/i.test(value) ? value : `http://${value}`),
                                target: "_blank", rel: "noopener noreferrer"});
    case "email": return el("a", {href: `mailto:${value}`});
    case "bot_command": return el("a", {href: "#", class: "command", "data-testid": "command-link",
                                        onclick: (event) => { event.preventDefault(); send(value); }});
    default: return el("span", {class: entity.type});
  }
}

// -- the reply keyboard and the command menu -----------------------------------------------------
function drawReplyKeyboard() {
  const box = $("reply-keyboard");
  const markup = state.replyKeyboard;
  $("keyboard-toggle").hidden = !markup;
  if (!markup || state.keyboardHidden) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const rows = markup.keyboard.map((row) => {
    const line = el("div", {class: "row"});
    for (const button of row) {
      if (button.request_contact) {
        line.append(el("button", {type: "button", class: "contact", "data-testid": "contact-button",
                                  text: button.text, onclick: () => shareContact()}));
      } else {
        line.append(el("button", {type: "button", "data-testid": "keyboard-button", text: button.text,
                                  onclick: () => send(button.text)}));
      }
    }
    return line;
  });
  box.replaceChildren(...rows);
  box.hidden = false;
  if (markup.input_field_placeholder) $("message-input").placeholder = markup.input_field_placeholder;
}

async function toggleMenu() {
  const menu = $("command-menu");
  if (!menu.hidden) { closeMenu(); return; }
  if (!state.persona) return;
  try {  // the bot may have changed its commands since the chat was opened
    const lang = encodeURIComponent(state.persona.language_code || "");
    state.commands = (await api(`/chats/${state.persona.user_id}?language_code=${lang}`)).commands || [];
  } catch (error) { /* keep the last known menu */ }
  const items = state.commands.map((c) => el("button", {
    type: "button", role: "menuitem", "data-testid": "menu-command",
    onclick: () => { closeMenu(); send(`/${c.command}`); },
  }, el("span", {class: "command", text: `/${c.command}`}), el("span", {text: c.description})));
  menu.replaceChildren(...(items.length ? items : [el("p", {class: "muted", text: "Bot chưa có lệnh nào. (No commands.)"})]));
  menu.hidden = false;
  $("menu-button").setAttribute("aria-expanded", "true");
}

function closeMenu() {
  $("command-menu").hidden = true;
  $("menu-button").setAttribute("aria-expanded", "false");
}

// -- what the person does ------------------------------------------------------------------------
function profile() {
  const p = state.persona;
  return {first_name: p.first_name, last_name: p.last_name || undefined, language_code: p.language_code || "vi"};
}

function afterSending() {
  if (state.replyKeyboard && state.replyKeyboard.one_time_keyboard) {
    state.keyboardHidden = true;
    drawReplyKeyboard();
  }
  $("message-input").placeholder = "Tin nhắn… (Message)";
}

async function send(text) {
  if (!state.persona || !text.trim()) return;
  try {
    await api(`/chats/${state.persona.user_id}/send`, {text, from: profile()});
    afterSending();
  } catch (error) {
    showToast(`Không gửi được (Not sent): ${error.message}`);
  }
}

async function shareContact() {
  const p = state.persona;
  try {
    await api(`/chats/${p.user_id}/send`, {
      contact: {phone_number: phoneOf(p), first_name: p.first_name, last_name: p.last_name || undefined,
                user_id: p.user_id},
      from: profile(),
    });
    afterSending();
  } catch (error) {
    showToast(`Không gửi được (Not sent): ${error.message}`);
  }
}

async function press(messageId, data) {
  try {
    await api(`/chats/${state.persona.user_id}/press`, {message_id: messageId, data});
  } catch (error) {
    showToast(error.message);
  }
}

let toastTimer = null;
function showToast(text) {
  const toast = $("toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toast.hidden = true; }, 3000);
}

function showAlert(text) {
  $("alert-text").textContent = text;
  $("alert").hidden = false;
  $("alert-ok").focus();
}

function scrollDown() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

// -- the feature phone: a USSD dialog through the emulated operator's gateway ---------------------
// Screens are plain text with options as lines "1. ..."; the person types a number (or an ID, a date,
// a PIN) and sends it. END closes the session; the phone keeps its last screen in view.
function serviceCode(p) {
  const found = /\*[0-9*]+#/.exec(p.hint || "");
  return found ? found[0] : "*384#";
}

function openFeaturePhone(persona) {
  const code = serviceCode(persona);
  $("app").dataset.mode = "ussd";
  $("feature-phone").hidden = false;
  $("chat-title").textContent = `📟 ${fullName(persona)}`;
  $("chat-status").textContent = `Điện thoại phổ thông (Feature phone) ${persona.phone_number || ""} · USSD`;
  $("message-input").disabled = true;
  $("send-button").disabled = true;
  $("toast").hidden = true;
  closeMenu();
  $("ussd-code").textContent = code;
  $("ussd-dial").textContent = `📞 Bấm ${code} (Dial)`;
  forgetSession();
  showScreen(`Bấm ${code} để bắt đầu.\n(Press Dial to start.)`, "idle");
  notice(null);
  $("ussd-dial").focus();
}

function closeFeaturePhone() {
  forgetSession();
  $("app").dataset.mode = "telegram";
  $("feature-phone").hidden = true;
}

function forgetSession() {
  const ussd = state.ussd;
  ussd.turn += 1;  // an answer still on its way is dropped
  ussd.session = null;
  ussd.busy = false;
  $("ussd-input").value = "";
  ussdControls();
}

function ussdControls() {
  const {session, busy} = state.ussd;
  const open = Boolean(session) && !busy;
  $("ussd-input").disabled = !open;
  $("ussd-send").disabled = !open;
  $("ussd-cancel").disabled = !session && !busy;
  $("ussd-dial").disabled = busy;
  for (const key of $("ussd-keypad").querySelectorAll("button")) key.disabled = !open;
}

function showScreen(text, kind) {
  const screen = $("ussd-screen");
  screen.textContent = text;
  screen.dataset.state = kind;
  screen.scrollTop = 0;
}

function notice(text) {
  const box = $("ussd-notice");
  box.textContent = text || "";
  box.hidden = !text;
}

async function ussdRequest(body) {
  const ussd = state.ussd;
  ussd.turn += 1;
  const turn = ussd.turn;
  ussd.busy = true;
  ussdControls();
  showScreen("Đang chờ… (Waiting…)", "waiting");
  notice(null);
  let answer;
  try {
    const response = await fetch(USSD_GATEWAY, {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
    });
    answer = await response.json().catch(() => ({kind: "ERR", text: "", status: response.status}));
    if (!response.ok) answer = {...answer, kind: "ERR", status: answer.status || response.status};
  } catch (error) {
    answer = {kind: "ERR", text: error.message, status: 0};
  }
  if (turn !== ussd.turn) return;  // hung up, or another person chosen, meanwhile
  ussd.busy = false;
  ussd.seq += 1;
  $("ussd-screen").dataset.seq = String(ussd.seq);
  if (answer.kind === "CON" && answer.status === 200) {
    ussd.session = answer.session;
    showScreen(answer.text, "open");
    ussdControls();
    $("ussd-input").focus();
    return;
  }
  ussd.session = null;
  ussdControls();
  if (answer.kind === "END" && answer.status === 200) {
    showScreen(answer.text, "ended");
    notice("Phiên đã kết thúc (Session ended). Bấm lại để gọi mới (Dial again).");
  } else if (answer.status === 410) {
    showScreen(answer.text || "", "ended");
    notice("Phiên đã hết hạn (Session expired). Bấm lại để gọi mới (Dial again).");
  } else {
    showScreen(answer.text || "", "error");
    const status = answer.status ? ` ${answer.status}` : "";
    notice(`Lỗi kết nối (Connection problem)${status}. Bấm lại để gọi mới (Dial again).`);
  }
  $("ussd-dial").focus();
}

function ussdDial() {
  if (!state.persona || state.ussd.busy) return;
  forgetSession();  // dialling again starts a new session
  ussdRequest({phone: state.persona.phone_number || phoneOf(state.persona)});
}

function ussdSend() {
  const ussd = state.ussd;
  const input = $("ussd-input");
  const typed = input.value.trim();
  if (!ussd.session || ussd.busy || !typed) return;
  input.value = "";
  ussdRequest({session: ussd.session, typed});
}

function ussdCancel() {
  if (!state.ussd.session && !state.ussd.busy) return;
  forgetSession();
  showScreen(`Đã hủy (Cancelled).\nBấm ${serviceCode(state.persona)} để gọi lại. (Dial again.)`, "idle");
  notice(null);
  $("ussd-dial").focus();
}

function drawKeypad() {
  const keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
  $("ussd-keypad").replaceChildren(...keys.map((key) => el("button", {
    type: "button", "data-testid": "ussd-key", "data-key": key, text: key, "aria-label": `Phím (Key) ${key}`,
    onclick: () => {
      const input = $("ussd-input");
      if (input.disabled) return;
      input.value += key;
      input.focus();
    },
  })));
}

// -- wiring --------------------------------------------------------------------------------------
$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("message-input");
  const text = input.value;
  input.value = "";
  send(text);
});
$("menu-button").addEventListener("click", toggleMenu);
$("start-button").addEventListener("click", () => send("/start"));
$("keyboard-toggle").addEventListener("click", () => {
  state.keyboardHidden = !state.keyboardHidden;
  drawReplyKeyboard();
});
$("alert-ok").addEventListener("click", () => { $("alert").hidden = true; });
$("new-person").addEventListener("click", newPerson);
$("ussd-form").addEventListener("submit", (event) => { event.preventDefault(); ussdSend(); });
$("ussd-dial").addEventListener("click", ussdDial);
$("ussd-cancel").addEventListener("click", ussdCancel);
drawKeypad();
ussdControls();
$("back-button").addEventListener("click", () => { $("app").dataset.view = "people"; });
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") { closeMenu(); $("alert").hidden = true; }
});

loadPersonas();
