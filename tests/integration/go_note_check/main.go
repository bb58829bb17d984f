// Command go_note_check checks this project's signed notes with Go's reference
// implementation, golang.org/x/mod/sumdb/note, which nobody on the project wrote.
//
//	go_note_check open NOTE_FILE VKEY_FILE...
//	    note.Open with the given verifier keys; prints one line per signature,
//	    "verified <name> <keyhash>" or "unverified <name> <keyhash>", then
//	    "text <base64 of the signed text>". Exits 1 if Go rejects the note.
//	go_note_check sign TEXT_FILE SKEY_FILE...
//	    note.Sign with the given signer keys; prints the signed note.
//	go_note_check cosigned NOTE_FILE VKEY_FILE...
//	    like open, but a vkey of signature type 0x04 is a c2sp.org/tlog-cosignature
//	    cosignature/v1 key, verified here with crypto/ed25519 over
//	    "cosignature/v1\ntime <T>\n" + text; its lines print "verified <name> <keyhash> <T>".
//	go_note_check addcheckpoint BODY_FILE OLD_ROOT_B64 VKEY_FILE
//	    parses a c2sp.org/tlog-witness add-checkpoint body (old size line, proof lines,
//	    empty line, checkpoint), opens the checkpoint with the vkey, and checks the proof
//	    from (old size, OLD_ROOT_B64) to the checkpoint's tree with tlog.CheckTree;
//	    prints "ok <old> <size> <proof lines>".
//
// Exit status 2 means bad usage or unreadable input, never a verdict.
package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func readKey(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	return strings.TrimSuffix(string(data), "\n")
}

func open(notePath string, vkeyPaths []string) {
	msg, err := os.ReadFile(notePath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var verifiers []note.Verifier
	for _, path := range vkeyPaths {
		v, err := note.NewVerifier(readKey(path))
		if err != nil {
			fmt.Fprintln(os.Stderr, "verifier key refused:", err)
			os.Exit(1)
		}
		verifiers = append(verifiers, v)
	}
	n, err := note.Open(msg, note.VerifierList(verifiers...))
	if err != nil {
		fmt.Fprintln(os.Stderr, "note rejected:", err)
		os.Exit(1)
	}
	for _, s := range n.Sigs {
		fmt.Printf("verified %s %08x\n", s.Name, s.Hash)
	}
	for _, s := range n.UnverifiedSigs {
		fmt.Printf("unverified %s %08x\n", s.Name, s.Hash)
	}
	fmt.Printf("text %s\n", base64.StdEncoding.EncodeToString([]byte(n.Text)))
}

func sign(textPath string, skeyPaths []string) {
	text, err := os.ReadFile(textPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var signers []note.Signer
	for _, path := range skeyPaths {
		s, err := note.NewSigner(readKey(path))
		if err != nil {
			fmt.Fprintln(os.Stderr, "signer key refused:", err)
			os.Exit(1)
		}
		signers = append(signers, s)
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, signers...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot sign:", err)
		os.Exit(1)
	}
	os.Stdout.Write(msg)
}

// cosigner verifies c2sp.org/tlog-cosignature cosignature/v1 lines (signature type 0x04).
type cosigner struct {
	name string
	hash uint32
	key  ed25519.PublicKey
	last uint64
}

func (c *cosigner) Name() string    { return c.name }
func (c *cosigner) KeyHash() uint32 { return c.hash }
func (c *cosigner) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	if t > 1<<63-1 {
		return false
	}
	m := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), msg...)
	if !ed25519.Verify(c.key, m, sig[8:]) {
		return false
	}
	c.last = t
	return true
}

func newCosigner(vkey string) (*cosigner, bool) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return nil, false
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 0x04 {
		return nil, false
	}
	h := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	hash := binary.BigEndian.Uint32(h[:4])
	if fmt.Sprintf("%08x", hash) != parts[1] {
		fmt.Fprintln(os.Stderr, "cosigner key hash mismatch")
		os.Exit(1)
	}
	return &cosigner{name: parts[0], hash: hash, key: ed25519.PublicKey(raw[1:])}, true
}

func cosigned(notePath string, vkeyPaths []string) {
	msg, err := os.ReadFile(notePath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var verifiers []note.Verifier
	cosigners := map[string]*cosigner{}
	for _, path := range vkeyPaths {
		text := readKey(path)
		if c, ok := newCosigner(text); ok {
			verifiers = append(verifiers, c)
			cosigners[c.name] = c
			continue
		}
		v, err := note.NewVerifier(text)
		if err != nil {
			fmt.Fprintln(os.Stderr, "verifier key refused:", err)
			os.Exit(1)
		}
		verifiers = append(verifiers, v)
	}
	n, err := note.Open(msg, note.VerifierList(verifiers...))
	if err != nil {
		fmt.Fprintln(os.Stderr, "note rejected:", err)
		os.Exit(1)
	}
	for _, s := range n.Sigs {
		if c, ok := cosigners[s.Name]; ok && c.hash == s.Hash {
			raw, _ := base64.StdEncoding.DecodeString(s.Base64)
			fmt.Printf("verified %s %08x %d\n", s.Name, s.Hash, binary.BigEndian.Uint64(raw[4:12]))
		} else {
			fmt.Printf("verified %s %08x\n", s.Name, s.Hash)
		}
	}
	for _, s := range n.UnverifiedSigs {
		fmt.Printf("unverified %s %08x\n", s.Name, s.Hash)
	}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func addCheckpoint(bodyPath, oldRootB64, vkeyPath string) {
	body, err := os.ReadFile(bodyPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	text := string(body)
	nl := strings.IndexByte(text, '\n')
	if nl < 0 || !strings.HasPrefix(text, "old ") {
		fail("no old size line")
	}
	old, err := strconv.ParseInt(text[4:nl], 10, 64)
	if err != nil || strconv.FormatInt(old, 10) != text[4:nl] {
		fail("bad old size %q", text[4:nl])
	}
	rest := text[nl+1:]
	var proof tlog.TreeProof
	for {
		nl = strings.IndexByte(rest, '\n')
		if nl < 0 {
			fail("no empty line after the proof")
		}
		line := rest[:nl]
		rest = rest[nl+1:]
		if line == "" {
			break
		}
		raw, err := base64.StdEncoding.Strict().DecodeString(line)
		if err != nil || len(raw) != tlog.HashSize {
			fail("bad proof line %q", line)
		}
		var h tlog.Hash
		copy(h[:], raw)
		proof = append(proof, h)
	}
	v, err := note.NewVerifier(readKey(vkeyPath))
	if err != nil {
		fail("verifier key refused: %v", err)
	}
	n, err := note.Open([]byte(rest), note.VerifierList(v))
	if err != nil {
		fail("checkpoint rejected: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fail("checkpoint text has fewer than three lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("bad size %q", lines[1])
	}
	var newRoot, oldRoot tlog.Hash
	if raw, err := base64.StdEncoding.DecodeString(lines[2]); err != nil || len(raw) != tlog.HashSize {
		fail("bad root %q", lines[2])
	} else {
		copy(newRoot[:], raw)
	}
	if raw, err := base64.StdEncoding.DecodeString(oldRootB64); err != nil || len(raw) != tlog.HashSize {
		fail("bad old root %q", oldRootB64)
	} else {
		copy(oldRoot[:], raw)
	}
	if err := tlog.CheckTree(proof, size, newRoot, old, oldRoot); err != nil {
		fail("tlog.CheckTree: %v", err)
	}
	fmt.Printf("ok %d %d %d\n", old, size, len(proof))
}

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: go_note_check open NOTE VKEY... | sign TEXT SKEY...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "open":
		open(os.Args[2], os.Args[3:])
	case "sign":
		sign(os.Args[2], os.Args[3:])
	case "cosigned":
		cosigned(os.Args[2], os.Args[3:])
	case "addcheckpoint":
		if len(os.Args) != 5 {
			fmt.Fprintln(os.Stderr, "usage: go_note_check addcheckpoint BODY OLD_ROOT_B64 VKEY")
			os.Exit(2)
		}
		addCheckpoint(os.Args[2], os.Args[3], os.Args[4])
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}
