// Command tilecheck reads a C2SP tlog-tiles log with Go's own golang.org/x/mod/sumdb/tlog and
// sumdb/note (the code the Go checksum database runs on) and checks it:
//
//   - the checkpoint note verifies with the given verifier key, and its origin is the key's name;
//   - tlog.TileHashReader fetches the tiles the tree needs and authenticates each one against the
//     checkpoint's root, and tlog.TreeHash over them gives that root;
//   - every entry bundle's entries hash (tlog.RecordHash) to the level-0 hashes read through it,
//     and each entry's inclusion proof (tlog.ProveRecord / tlog.CheckRecord) leads to the root.
//
// C2SP paths drop Go's tile height: Go's `tile/8/<L>/<N>` is `<prefix>/tile/<L>/<N>` and
// Go's `tile/8/data/<N>` is `<prefix>/tile/entries/<N>` (Tile.Path gives the rest, `.p/<W>` too).
//
// Usage (GOPATH mode, with Debian's golang-golang-x-mod-dev):
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go run tests/go/tilecheck/main.go http://127.0.0.1:8000/log "<vkey>"
package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

type reader struct {
	prefix  string
	client  *http.Client
	fetched int
	saved   map[tlog.Tile][]byte // tiles tlog has authenticated (SaveTiles)
}

func (r *reader) get(path string) ([]byte, error) {
	resp, err := r.client.Get(r.prefix + "/" + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	r.fetched++
	return io.ReadAll(resp.Body)
}

// c2spPath turns Go's tile path (with the height) into the C2SP one (without).
func c2spPath(t tlog.Tile) string {
	rest := strings.TrimPrefix(t.Path(), "tile/"+strconv.Itoa(height)+"/")
	if t.L == -1 {
		rest = "entries" + strings.TrimPrefix(rest, "data")
	}
	return "tile/" + rest
}

func (r *reader) Height() int { return height }

func (r *reader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	for i, t := range tiles {
		if b, ok := r.saved[t]; ok {
			data[i] = b
			continue
		}
		b, err := r.get(c2spPath(t))
		if err != nil {
			return nil, err
		}
		data[i] = b
	}
	return data, nil
}

func (r *reader) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	for i, t := range tiles {
		r.saved[t] = data[i]
	}
}

func entries(bundle []byte) ([][]byte, error) {
	var out [][]byte
	for len(bundle) > 0 {
		if len(bundle) < 2 {
			return nil, fmt.Errorf("entry bundle ends inside a length")
		}
		n := int(bundle[0])<<8 | int(bundle[1])
		if len(bundle) < 2+n {
			return nil, fmt.Errorf("entry bundle ends inside an entry")
		}
		out = append(out, bundle[2:2+n])
		bundle = bundle[2+n:]
	}
	return out, nil
}

func check(prefix, vkey string) error {
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("verifier key: %v", err)
	}
	r := &reader{prefix: strings.TrimRight(prefix, "/"), client: &http.Client{Timeout: 30 * time.Second}, saved: map[tlog.Tile][]byte{}}
	msg, err := r.get("checkpoint")
	if err != nil {
		return err
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		return fmt.Errorf("checkpoint note: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		return fmt.Errorf("checkpoint origin is not %q", verifier.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return fmt.Errorf("checkpoint size: %v", err)
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != tlog.HashSize {
		return fmt.Errorf("checkpoint root is not a base64 SHA-256 hash")
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	tree := tlog.Tree{N: size, Hash: root}
	hr := tlog.TileHashReader(tree, r)
	th, err := tlog.TreeHash(size, hr)
	if err != nil {
		return fmt.Errorf("tree hash from tiles: %v", err)
	}
	if th != root {
		return fmt.Errorf("tree hash from tiles %v is not the checkpoint's %v", th, root)
	}
	checked := int64(0)
	for start := int64(0); start < size; start += 1 << height {
		width := size - start
		if width > 1<<height {
			width = 1 << height
		}
		bundle, err := r.get(c2spPath(tlog.Tile{H: height, L: -1, N: start >> height, W: int(width)}))
		if err != nil {
			return err
		}
		records, err := entries(bundle)
		if err != nil {
			return err
		}
		if int64(len(records)) != width {
			return fmt.Errorf("entry bundle at %d holds %d entries, not %d", start, len(records), width)
		}
		indexes := make([]int64, width)
		for i := range indexes {
			indexes[i] = tlog.StoredHashIndex(0, start+int64(i))
		}
		hashes, err := hr.ReadHashes(indexes)
		if err != nil {
			return fmt.Errorf("level-0 hashes at %d: %v", start, err)
		}
		for i, record := range records {
			index := start + int64(i)
			if tlog.RecordHash(record) != hashes[i] {
				return fmt.Errorf("entry %d does not hash to its leaf", index)
			}
			proof, err := tlog.ProveRecord(size, index, hr)
			if err != nil {
				return fmt.Errorf("inclusion proof of %d: %v", index, err)
			}
			if err := tlog.CheckRecord(proof, size, root, index, hashes[i]); err != nil {
				return fmt.Errorf("inclusion of %d: %v", index, err)
			}
			checked++
		}
	}
	if !bytes.Equal(root[:], rootBytes) || checked != size {
		return fmt.Errorf("checked %d of %d entries", checked, size)
	}
	fmt.Printf("OK %s size %d root %s\n", verifier.Name(), size, lines[2])
	fmt.Printf("verified the note, the tree hash over tiles and %d entries with inclusion proofs (%d fetches)\n", checked, r.fetched)
	return nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: tilecheck <log prefix URL> <vkey>")
		os.Exit(2)
	}
	if err := check(os.Args[1], os.Args[2]); err != nil {
		fmt.Println("REFUSED:", err)
		os.Exit(1)
	}
}
