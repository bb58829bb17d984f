// In-browser verification: the reader need not trust the server's word.
// RFC 6962 hashing and RFC 9162 § 2.1.3.2 inclusion proofs (a port of ledger/proofs.py
// root_from_inclusion), C2SP signed notes and checkpoints, Ed25519 via WebCrypto, against a
// trust root the user pinned (localStorage), never a key this server serves.
"use strict";

const DL = (() => {
  const KEY = "dl.trustRoot";
  const enc = new TextEncoder();

  function b64decode(text) {
    if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) {
      throw new Error("not standard padded base64");
    }
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
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

  // Verifier key: name+hex8(keyhash)+base64(0x01 || pubkey); keyhash = SHA-256(name || 0x0A || 0x01 || pubkey)[:4].
  async function parseVkey(text) {
    // name and hex8 hold no '+'; the base64 may.
    const t = text.trim();
    const first = t.indexOf("+");
    const second = first < 0 ? -1 : t.indexOf("+", first + 1);
    if (first <= 0 || second < 0) throw new Error("expected name+hex8+base64");
    const name = t.slice(0, first), idHex = t.slice(first + 1, second), b64 = t.slice(second + 1);
    if (!/^[0-9a-f]{8}$/.test(idHex)) throw new Error("key id is not 8 hex digits");
    const blob = b64decode(b64);
    if (blob.length !== 33 || blob[0] !== 1) throw new Error("expected 0x01 followed by a 32-byte Ed25519 key");
    const pub = blob.slice(1);
    const hash = await sha256(concat(enc.encode(name), new Uint8Array([0x0a]), blob));
    if (hex(hash.slice(0, 4)) !== idHex) throw new Error("key id does not match the key");
    return { name, keyId: idHex, pub, fingerprint: hex(await sha256(pub)) };
  }

  // C2SP signed note: text, a blank line, signature lines "— name base64(keyid(4) || sig(64))".
  function parseNote(note) {
    const split = note.lastIndexOf("\n\n");
    if (split < 0) throw new Error("note has no blank line before its signatures");
    const text = note.slice(0, split + 1);
    const block = note.slice(split + 2);
    if (!block.endsWith("\n")) throw new Error("signature block must end with a newline");
    const sigs = block.slice(0, -1).split("\n").map((line) => {
      if (!line.startsWith("\u2014 ")) throw new Error("a signature line does not start with '— '");
      const parts = line.slice(2).split(" ");
      if (parts.length !== 2) throw new Error("a signature line is not '— name base64'");
      const blob = b64decode(parts[1]);
      if (blob.length !== 68) throw new Error("a signature is not 4 + 64 bytes");
      return { name: parts[0], keyId: hex(blob.slice(0, 4)), sig: blob.slice(4) };
    });
    const lines = text.split("\n");
    if (lines.length !== 4 || lines[3] !== "") throw new Error("checkpoint is not origin, size, root");
    if (!/^(0|[1-9][0-9]{0,15})$/.test(lines[1])) throw new Error("checkpoint size is not a number");
    const root = b64decode(lines[2]);
    if (root.length !== 32) throw new Error("checkpoint root is not 32 bytes");
    return { text, sigs, origin: lines[0], size: Number(lines[1]), root };
  }

  async function verifyNote(parsed, key) {
    const mine = parsed.sigs.filter((s) => s.name === key.name && s.keyId === key.keyId);
    if (!mine.length) throw new Error(`no signature by the pinned key ${key.name}+${key.keyId}`);
    const pub = await crypto.subtle.importKey("raw", key.pub, { name: "Ed25519" }, false, ["verify"]);
    for (const s of mine) {
      if (await crypto.subtle.verify({ name: "Ed25519" }, pub, s.sig, enc.encode(parsed.text))) return;
    }
    throw new Error("the checkpoint signature does not verify under the pinned key");
  }

  async function pinned() {
    const text = localStorage.getItem(KEY);
    return text ? parseVkey(text) : null;
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
    const cp = await check("Checkpoint parsed", async () => parseNote(proof.checkpoint));
    await check("Checkpoint signature valid under the pinned key (Ed25519)", async () => {
      if (cp.origin !== key.name) throw new Error(`origin ${cp.origin} is not the pinned key's name ${key.name}`);
      await verifyNote(cp, key);
    });
    await check("Inclusion proof leads to the checkpoint's root", async () => {
      if (proof.tree_size !== cp.size) throw new Error("the proof is for another tree size than the checkpoint");
      const path = proof.path.map(fromHex);
      const root = await rootFromInclusion(index, cp.size, leaf, path);
      if (!equal(root, cp.root)) throw new Error(`computed root ${hex(root).slice(0, 16)}… is not the signed root`);
    });
    if (failed) {
      show(result, false, `Verification failed — ${failed}`);
    } else {
      show(result, true, `Verified: entry ${index} is in the log of ${cp.size} entries that the pinned key signed.`);
    }
  }

  // ---- checkpoints page -------------------------------------------------------------------------
  async function verifyCheckpoint() {
    const result = document.getElementById("verify-result");
    try {
      const key = await pinned();
      if (!key) throw new Error("no key pinned — paste the published key on the Trust root page");
      const cp = parseNote(document.getElementById("checkpoint-note").textContent);
      if (cp.origin !== key.name) throw new Error("the checkpoint's origin is not the pinned key's name");
      await verifyNote(cp, key);
      show(result, true, `Signature valid: size ${cp.size} signed by the pinned key.`);
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
  }
  document.addEventListener("DOMContentLoaded", start);
  return { rootFromInclusion, parseVkey, parseNote, leafHash, fromHex, hex };
})();
