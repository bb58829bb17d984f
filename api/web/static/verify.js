// In-browser verification: the reader need not trust the server's word.
// RFC 6962 hashing and RFC 9162 § 2.1.3.2 inclusion proofs (a port of ledger/proofs.py
// root_from_inclusion), C2SP signed notes and checkpoints, Ed25519 via WebCrypto, against a
// trust root the user pinned (localStorage), never a key this server serves; and, when the user
// pinned a witness policy (c2sp.org/tlog-policy) beside it, the witnesses' cosignature/v1 lines
// and the policy's quorum (ledger/tlog_policy.py and ledger/witnessed.py, ported).
"use strict";

const DL = (() => {
  const KEY = "dl.trustRoot";
  const POLICY_KEY = "dl.witnessPolicy";
  const enc = new TextEncoder();

  function b64decode(text) {
    if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) {
      throw new Error("not standard padded base64");
    }
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    if (b64encode(out) !== text) throw new Error("base64 with non-zero padding bits is not canonical");
    return out;
  }
  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function fromHex(text) {
    if (!/^([0-9a-f]{2})*$/.test(text)) throw new Error("not lowercase hex");
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
    return out;
  }
  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    let d = 0;
    for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  }
  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }
  const leafHash = (entry) => sha256(concat(new Uint8Array([0]), entry));
  const nodeHash = (l, r) => sha256(concat(new Uint8Array([1]), l, r));

  // RFC 9162 § 2.1.3.2, exactly as ledger/proofs.py root_from_inclusion (sizes < 2^53: plain numbers,
  // shifts done by division so they stay exact beyond 32 bits).
  async function rootFromInclusion(index, size, leaf, path) {
    if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) {
      throw new Error(`index ${index} is outside a tree of size ${size}`);
    }
    for (const h of [leaf, ...path]) if (h.length !== 32) throw new Error("a proof hash is not 32 bytes");
    const odd = (n) => n % 2 === 1;
    const half = (n) => Math.floor(n / 2);
    let fn = index, sn = size - 1, r = leaf;
    for (const p of path) {
      if (sn === 0) throw new Error("inclusion proof is longer than the tree allows");
      if (odd(fn) || fn === sn) {
        r = await nodeHash(p, r);
        if (!odd(fn)) {
          while (fn && !odd(fn)) { fn = half(fn); sn = half(sn); }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn = half(fn); sn = half(sn);
    }
    if (sn !== 0) throw new Error("inclusion proof is shorter than the tree requires");
    return r;
  }

  // ---- signed notes (C2SP signed-note), the rule of ledger/note.py exactly -----------------------
  // A line of a key the verifier does not know is kept and ignored unless it is malformed: not
  // "— name base64", an empty name or one holding a Unicode space or '+', base64 (padded; padding bits
  // may be non-zero) of fewer than 5 bytes. Known keys' lines are strict: canonical, 4 + 64 bytes,
  // once, and valid. At most 100 lines and 196,608 bytes. tests/vectors/note-signature-lines.json is
  // the one table the three verifiers are tested on.
  const MAX_SIGNATURES = 100;
  const MAX_NOTE_BYTES = 196608;
  // Go's unicode.IsSpace (the Unicode White_Space property), written out as ledger/note.py does.
  const SPACES = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002,
    0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000]);
  const PADDED_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
  const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/;

  function b64encode(bytes) {
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin);
  }
  function lenientB64(text) {  // padded standard base64; padding bits may be non-zero
    if (!text || !PADDED_B64.test(text)) throw new Error("a signature is not standard padded base64");
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function checkSignatureName(name) {
    if (!name) throw new Error("a signature line has an empty key name");
    if (name.includes("+")) throw new Error(`key name ${JSON.stringify(name.slice(0, 80))} holds a '+'`);
    for (const ch of name) {
      if (SPACES.has(ch.codePointAt(0))) throw new Error(`key name holds the space U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}`);
    }
    if (LONE_SURROGATE.test(name)) throw new Error("a key name is not valid Unicode");
    return name;
  }
  function parseSignatureLine(line, number) {
    if (!line.startsWith("\u2014 ")) throw new Error(`signature line ${number} does not start with '— '`);
    const parts = line.slice(2).split(" ");
    if (parts.length !== 2) throw new Error(`signature line ${number} is not '— name base64'`);
    checkSignatureName(parts[0]);
    const blob = lenientB64(parts[1]);
    if (blob.length < 5) throw new Error(`signature line ${number} holds fewer than 5 bytes`);
    return { name: parts[0], keyId: hex(blob.slice(0, 4)), sig: blob.slice(4), canonical: b64encode(blob) === parts[1] };
  }

  // A signed note: text (ending in LF), the last blank line, then signature lines.
  function parseNote(note) {
    if (enc.encode(note).length > MAX_NOTE_BYTES) throw new Error(`the note is more than ${MAX_NOTE_BYTES} bytes`);
    const split = note.lastIndexOf("\n\n");
    if (split < 0) throw new Error("note has no blank line before its signatures");
    const text = note.slice(0, split + 1);
    const block = note.slice(split + 2);
    if (/[\x00-\x09\x0b-\x1f\x7f]/.test(text)) throw new Error("the note text holds a control character");
    if (LONE_SURROGATE.test(text)) throw new Error("the note text is not valid Unicode");
    if (!block.endsWith("\n")) throw new Error("signature block must end with a newline");
    if (/[\x00-\x09\x0b-\x1f]/.test(block.slice(0, -1))) throw new Error("the signature lines hold a control character");
    const lines = block.slice(0, -1).split("\n");
    if (lines.length > MAX_SIGNATURES) throw new Error(`more than ${MAX_SIGNATURES} signature lines`);
    return { text, sigs: lines.map((line, i) => parseSignatureLine(line, i + 1)) };
  }

  // This ledger's checkpoints (C2SP tlog-checkpoint without extension lines): origin, size, root.
  function parseCheckpoint(note) {
    const parsed = parseNote(note);
    const lines = parsed.text.split("\n");
    if (lines.length !== 4 || lines[3] !== "" || !lines[0]) throw new Error("checkpoint is not origin, size, root");
    if (!/^(0|[1-9][0-9]{0,15})$/.test(lines[1])) throw new Error("checkpoint size is not a number");
    const root = b64decode(lines[2]);
    if (root.length !== 32) throw new Error("checkpoint root is not 32 bytes");
    return { ...parsed, origin: lines[0], size: Number(lines[1]), root };
  }

  async function ed25519(pub, sig, message) {
    const key = await crypto.subtle.importKey("raw", pub, { name: "Ed25519" }, false, ["verify"]);
    return crypto.subtle.verify({ name: "Ed25519" }, key, sig, message);
  }

  // The one line of a known key: canonical, 4 + 64 bytes, valid; else the whole note is refused.
  async function verifyNote(parsed, key) {
    const mine = parsed.sigs.filter((s) => s.name === key.name && s.keyId === key.keyId);
    if (!mine.length) throw new Error(`no signature by the pinned key ${key.name}+${key.keyId}`);
    if (mine.length > 1) throw new Error(`more than one signature by ${key.name}+${key.keyId}`);
    const line = mine[0];
    if (line.sig.length !== 64) throw new Error(`the signature line by ${key.name} is not 4 + 64 bytes`);
    if (!line.canonical) throw new Error(`the signature line by ${key.name} is not canonical base64`);
    if (!(await ed25519(key.pub, line.sig, enc.encode(parsed.text)))) {
      throw new Error("the checkpoint signature does not verify under the pinned key");
    }
  }

  // Verifier key: name+hex8(keyhash)+base64(type || pubkey); keyhash = SHA-256(name || 0x0A || type || pubkey)[:4].
  // Type 0x01: a log's Ed25519 key; 0x04: a witness's cosignature/v1 key (c2sp.org/tlog-cosignature).
  async function parseAnyVkey(text, type) {
    // name and hex8 hold no '+'; the base64 may.
    const t = text.trim();
    const first = t.indexOf("+");
    const second = first < 0 ? -1 : t.indexOf("+", first + 1);
    if (first <= 0 || second < 0) throw new Error("expected name+hex8+base64");
    const name = t.slice(0, first), idHex = t.slice(first + 1, second), b64 = t.slice(second + 1);
    checkSignatureName(name);
    if (!/^[0-9a-f]{8}$/.test(idHex)) throw new Error("key id is not 8 hex digits");
    const blob = b64decode(b64);
    if (type === 4 && blob[0] === 6) throw new Error("ML-DSA-44 witness keys are not supported here");
    if (blob.length !== 33 || blob[0] !== type) {
      throw new Error(`expected 0x0${type} followed by a 32-byte Ed25519 key`);
    }
    const pub = blob.slice(1);
    const hash = await sha256(concat(enc.encode(name), new Uint8Array([0x0a]), blob));
    if (hex(hash.slice(0, 4)) !== idHex) throw new Error("key id does not match the key");
    return { name, keyId: idHex, pub, fingerprint: hex(await sha256(pub)), text: t };
  }
  async function parseVkey(text) {
    const key = await parseAnyVkey(text, 1);
    if (!/^[!-*,-~]+$/.test(key.name)) throw new Error("a log key name is printable ASCII without spaces or '+'");
    return key;
  }

  // ---- witness policies (c2sp.org/tlog-policy) and cosignatures, as ledger/tlog_policy.py -----------
  async function parsePolicy(text) {
    const logs = [], witnesses = [], groups = new Map(), names = new Set();
    let quorum = null;
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const where = `policy line ${i + 1}`;
      if (/[\x00-\x08\x0b-\x1f\x7f]/.test(lines[i])) throw new Error(`${where}: a control character`);
      const items = lines[i].split(/[ \t]+/).filter((x) => x);
      if (!items.length || items[0].startsWith("#")) continue;
      const [kw, ...args] = items;
      const fresh = (name) => {
        if (name === "none") throw new Error(`${where}: 'none' is predefined`);
        if (names.has(name)) throw new Error(`${where}: the name ${name} is already defined`);
      };
      if (kw === "log") {
        if (args.length < 1 || args.length > 2) throw new Error(`${where}: expected 'log <vkey> [<url>]'`);
        const key = await parseVkey(args[0]);
        if (logs.some((l) => equal(l.pub, key.pub))) throw new Error(`${where}: a log with the same key is listed`);
        logs.push(key);
      } else if (kw === "witness") {
        if (args.length < 2 || args.length > 3) throw new Error(`${where}: expected 'witness <name> <vkey> [<url>]'`);
        fresh(args[0]);
        const key = await parseAnyVkey(args[1], 4);
        if (witnesses.some((w) => equal(w.key.pub, key.pub))) throw new Error(`${where}: a witness with the same key is listed`);
        witnesses.push({ name: args[0], key, url: args[2] || null });
        names.add(args[0]);
      } else if (kw === "group") {
        if (args.length < 3) throw new Error(`${where}: expected 'group <name> all|any|<k> <name>...'`);
        const [name, k, ...members] = args;
        fresh(name);
        for (const m of members) {
          if (m === "none" || !names.has(m)) throw new Error(`${where}: member ${m} is not defined on an earlier line`);
        }
        if (new Set(members).size !== members.length) throw new Error(`${where}: a member is listed twice`);
        let threshold;
        if (k === "all") threshold = members.length;
        else if (k === "any") threshold = 1;
        else if (/^[1-9][0-9]{0,8}$/.test(k) && Number(k) <= members.length) threshold = Number(k);
        else throw new Error(`${where}: bad threshold ${k}`);
        groups.set(name, { threshold, members });
        names.add(name);
      } else if (kw === "quorum") {
        if (quorum !== null) throw new Error(`${where}: a second quorum line`);
        if (args.length !== 1 || (args[0] !== "none" && !names.has(args[0]))) throw new Error(`${where}: bad quorum`);
        quorum = args[0];
      } else {
        throw new Error(`${where}: unknown keyword ${kw}`);
      }
    }
    if (quorum === null) throw new Error("the policy has no quorum line");
    return { logs, witnesses, groups, quorum, text };
  }
  function satisfied(policy, signed, name = policy.quorum) {
    if (name === "none") return true;
    const group = policy.groups.get(name);
    if (!group) return signed.has(name);
    return group.members.filter((m) => satisfied(policy, signed, m)).length >= group.threshold;
  }
  function when(seconds) {
    return seconds <= 8640000000000n ? new Date(Number(seconds) * 1000).toISOString().replace(".000Z", "Z") : `POSIX time ${seconds}`;
  }
  // Every line of a pinned witness must be a valid cosignature/v1 (76 bytes, canonical, timestamp
  // < 2^63) over "cosignature/v1\ntime <T>\n" + the note text; then the quorum decides.
  async function checkWitnesses(parsed, policy, logKey) {
    if (policy.logs.length && !policy.logs.some((l) => l.text === logKey.text)) {
      throw new Error("the pinned witness policy does not list the pinned trust root as a log");
    }
    const signed = new Set(), who = [];
    for (const w of policy.witnesses) {
      const mine = parsed.sigs.filter((s) => s.name === w.key.name && s.keyId === w.key.keyId);
      if (mine.length > 1) throw new Error(`more than one cosignature by ${w.name}`);
      if (!mine.length) continue;
      const line = mine[0];
      if (line.sig.length !== 72 || !line.canonical) throw new Error(`the cosignature by ${w.name} is malformed`);
      let t = 0n;
      for (const b of line.sig.slice(0, 8)) t = (t << 8n) | BigInt(b);
      if (t > 9223372036854775807n) throw new Error(`the cosignature by ${w.name} has a timestamp past 2^63 - 1`);
      const message = concat(enc.encode(`cosignature/v1\ntime ${t}\n`), enc.encode(parsed.text));
      if (!(await ed25519(w.key.pub, line.sig.slice(8), message))) throw new Error(`the cosignature by ${w.name} does not verify`);
      signed.add(w.name);
      who.push(`${w.name} at ${when(t)}`);
    }
    const known = new Set([...policy.witnesses.map((w) => `${w.key.name}+${w.key.keyId}`), `${logKey.name}+${logKey.keyId}`]);
    const unknown = parsed.sigs.filter((s) => !known.has(`${s.name}+${s.keyId}`)).map((s) => s.name);
    const met = satisfied(policy, signed);
    return { met, who, unknown };
  }

  async function pinned() {
    const text = localStorage.getItem(KEY);
    return text ? parseVkey(text) : null;
  }
  async function pinnedPolicy() {
    const text = localStorage.getItem(POLICY_KEY);
    return text ? parsePolicy(text) : null;
  }
  async function witnessStep(cp, key) {
    const policy = await pinnedPolicy();
    if (!policy) return null;
    const found = await checkWitnesses(cp, policy, key);
    const names = found.who.length ? found.who.join("; ") : "no witness of the policy";
    if (!found.met) {
      const also = found.unknown.length ? ` (ignored: lines by keys the policy does not name: ${found.unknown.join(", ")})` : "";
      throw new Error(`below the pinned policy's quorum: cosigned by ${names}${also}`);
    }
    return names;
  }

  function show(el, ok, text) {
    el.textContent = (ok ? "✔ " : "✘ ") + text;
    el.className = ok ? "ok" : "bad";
  }

  // ---- entry page -----------------------------------------------------------------------------
  async function verifyEntry(section) {
    const steps = document.getElementById("verify-steps");
    const result = document.getElementById("verify-result");
    steps.textContent = "";
    result.textContent = "Checking…";
    result.className = "";
    const step = (ok, text) => {
      const li = document.createElement("li");
      show(li, ok, text);
      steps.appendChild(li);
    };
    const index = Number(section.dataset.index);
    let failed = null;
    const check = async (label, fn) => {
      if (failed) return undefined;
      try {
        const v = await fn();
        step(true, label);
        return v;
      } catch (e) {
        failed = `${label}: ${e.message}`;
        step(false, failed);
        return undefined;
      }
    };
    const key = await check("Trust root pinned in this browser", async () => {
      const k = await pinned();
      if (!k) throw new Error("no key pinned — paste the published key on the Trust root page");
      return k;
    });
    const proof = await check("Proof and checkpoint received", async () => {
      const r = await fetch(`/entries/${index}/proof.json`, { credentials: "same-origin", cache: "no-store" });
      if (!r.ok) throw new Error(`the server answered ${r.status}`);
      const body = await r.json();
      document.getElementById("proof-raw").textContent = JSON.stringify(body, null, 2);
      return body;
    });
    const leaf = await check("Entry bytes hashed (SHA-256 leaf hash)", async () => {
      const bytes = b64decode(proof.entry_b64);
      const entry = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
      if (entry.index !== index || proof.index !== index) throw new Error(`the entry is not number ${index}`);
      return leafHash(bytes);
    });
    const cp = await check("Checkpoint parsed", async () => parseCheckpoint(proof.checkpoint));
    await check("Checkpoint signature valid under the pinned key (Ed25519)", async () => {
      if (cp.origin !== key.name) throw new Error(`origin ${cp.origin} is not the pinned key's name ${key.name}`);
      await verifyNote(cp, key);
    });
    let witnessed = null;
    if (localStorage.getItem(POLICY_KEY)) {
      witnessed = await check("Witness cosignatures meet the pinned policy (cosignature/v1)", () => witnessStep(cp, key));
    }
    await check("Inclusion proof leads to the checkpoint's root", async () => {
      if (proof.tree_size !== cp.size) throw new Error("the proof is for another tree size than the checkpoint");
      const path = proof.path.map(fromHex);
      const root = await rootFromInclusion(index, cp.size, leaf, path);
      if (!equal(root, cp.root)) throw new Error(`computed root ${b64encode(root).slice(0, 16)}… is not the signed root`);
    });
    if (failed) {
      show(result, false, `Verification failed — ${failed}`);
    } else {
      const by = witnessed ? ` Cosigned by ${witnessed}.` : "";
      show(result, true, `Verified: entry ${index} is in the log of ${cp.size} entries that the pinned key signed.${by}`);
    }
  }

  // ---- checkpoints page -------------------------------------------------------------------------
  async function verifyCheckpoint() {
    const result = document.getElementById("verify-result");
    try {
      const key = await pinned();
      if (!key) throw new Error("no key pinned — paste the published key on the Trust root page");
      const cp = parseCheckpoint(document.getElementById("checkpoint-note").textContent);
      if (cp.origin !== key.name) throw new Error("the checkpoint's origin is not the pinned key's name");
      await verifyNote(cp, key);
      const witnessed = await witnessStep(cp, key);
      const by = witnessed ? ` Cosigned by ${witnessed}, meeting the pinned witness policy.` : "";
      show(result, true, `Signature valid: size ${cp.size} signed by the pinned key.${by}`);
    } catch (e) {
      show(result, false, `Not verified — ${e.message}`);
    }
  }

  // ---- trust root page --------------------------------------------------------------------------
  async function showPinned() {
    const el = document.getElementById("pinned");
    try {
      const k = await pinned();
      if (!k) { el.textContent = "No key pinned in this browser yet."; el.className = ""; return; }
      show(el, true, `Pinned: ${k.name}, key id ${k.keyId}, fingerprint SHA-256 ${k.fingerprint.match(/.{8}/g).join(" ")}`);
    } catch (e) {
      show(el, false, `The stored key is unusable: ${e.message}`);
    }
  }
  async function showPolicy() {
    const el = document.getElementById("pinned-policy");
    if (!el) return;
    try {
      const policy = await pinnedPolicy();
      if (!policy) { el.textContent = "No witness policy pinned: cosignatures are not checked."; el.className = ""; return; }
      const names = policy.witnesses.map((w) => `${w.name} (${w.key.name}, key id ${w.key.keyId})`).join("; ");
      show(el, true, `Witness policy pinned: quorum ${policy.quorum}; witnesses: ${names || "none"}`);
    } catch (e) {
      show(el, false, `The stored witness policy is unusable: ${e.message}`);
    }
  }
  async function pinPolicy(event) {
    event.preventDefault();
    const text = document.getElementById("policy").value;
    try {
      await parsePolicy(text);
      localStorage.setItem(POLICY_KEY, text);
      await showPolicy();
    } catch (e) {
      show(document.getElementById("pinned-policy"), false, `Not pinned: ${e.message}`);
    }
  }
  async function pin(event) {
    event.preventDefault();
    const text = document.getElementById("vkey").value.trim();
    try {
      await parseVkey(text);
      localStorage.setItem(KEY, text);
      await showPinned();
    } catch (e) {
      show(document.getElementById("pinned"), false, `Not pinned: ${e.message}`);
    }
  }

  function start() {
    const section = document.getElementById("verify");
    if (section) {
      document.getElementById("run-verify").addEventListener("click", () => verifyEntry(section));
      verifyEntry(section);
    }
    const cpButton = document.getElementById("check-signature");
    if (cpButton) cpButton.addEventListener("click", verifyCheckpoint);
    const form = document.getElementById("pin-form");
    if (form) {
      form.addEventListener("submit", pin);
      document.getElementById("forget").addEventListener("click", () => { localStorage.removeItem(KEY); showPinned(); });
      showPinned();
    }
    const policyForm = document.getElementById("policy-form");
    if (policyForm) {
      policyForm.addEventListener("submit", pinPolicy);
      document.getElementById("forget-policy").addEventListener("click", () => { localStorage.removeItem(POLICY_KEY); showPolicy(); });
      showPolicy();
    }
  }
  document.addEventListener("DOMContentLoaded", start);
  return { rootFromInclusion, parseVkey, parseAnyVkey, parseNote, parseCheckpoint, verifyNote, parsePolicy,
           checkWitnesses, satisfied, leafHash, fromHex, hex };
})();
