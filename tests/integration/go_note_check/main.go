// Command go_note_check checks this project's signed notes with Go's reference
// implementation, golang.org/x/mod/sumdb/note, which nobody on the project wrote.
//
//	go_note_check open NOTE_FILE VKEY_FILE...
//	    note.Open with the given verifier keys; prints one line per signature,
//	    "verified <name> <keyhash>" or "unverified <name> <keyhash>", then
//	    "text <base64 of the signed text>". Exits 1 if Go rejects the note.
//	go_note_check sign TEXT_FILE SKEY_FILE...
//	    note.Sign with the given signer keys; prints the signed note.
//
// Exit status 2 means bad usage or unreadable input, never a verdict.
package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"
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
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}
