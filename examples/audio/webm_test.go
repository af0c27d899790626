package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// vint encodes n as an EBML size of the fewest bytes.
func vint(n int) []byte {
	for size := 1; size <= 8; size++ {
		if n < 1<<(7*size)-1 {
			b := binary.BigEndian.AppendUint64(nil, uint64(n)|1<<(7*size))
			return b[8-size:]
		}
	}
	panic("too large")
}

func idBytes(id uint32) []byte {
	b := binary.BigEndian.AppendUint32(nil, id)
	return bytes.TrimLeft(b, "\x00")
}

// element returns an element of known size holding body.
func element(id uint32, body ...[]byte) []byte {
	inner := bytes.Join(body, nil)
	return append(append(idBytes(id), vint(len(inner))...), inner...)
}

// pad returns an element of exactly total bytes, its body zeros.
func pad(id uint32, total int) []byte {
	for sizeLen := 1; sizeLen <= 8; sizeLen++ {
		body := total - len(idBytes(id)) - sizeLen
		if body >= 0 && len(vint(body)) == sizeLen {
			return element(id, make([]byte, body))
		}
	}
	panic("no element of that length")
}

// open returns the header of an element of unknown size, as a live
// stream's Segment and Clusters are written.
func open(id uint32) []byte {
	return append(idBytes(id), 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF)
}

// testStream returns a live WebM stream of n clusters, the length of its
// header and where each cluster begins. The audio frames hold the Cluster
// ID's bytes too, as real audio sometimes does, to catch a scanner that
// searches for them.
func testStream(n int) (stream []byte, header int, clusters []int) {
	decoy := idBytes(idCluster)
	stream = bytes.Join([][]byte{
		element(idEBML, element(0x4282, []byte("webm"))),
		open(idSegment),
		element(0x1549A966, element(0x2AD7B1, []byte{0x0F, 0x42, 0x40})),    // Info, TimecodeScale
		element(0x1654AE6B, element(0xAE, element(0x86, []byte("A_OPUS")))), // Tracks
	}, nil)
	header = len(stream)
	for i := range n {
		clusters = append(clusters, len(stream))
		stream = append(stream, open(idCluster)...)
		stream = append(stream, element(0xE7, []byte{byte(i)})...) // Timecode
		for j := range 3 {
			frame := bytes.Repeat([]byte{byte(j)}, 20+j*150) // sizes of one and two bytes
			copy(frame[5:], decoy)
			stream = append(stream, element(0xA3, frame)...) // SimpleBlock
		}
	}
	return stream, header, clusters
}

// scanPieces feeds stream to a scanner in pieces cut at cuts, and returns
// the clusters it reports, checking each report against the stream.
func scanPieces(t *testing.T, stream []byte, cuts []int) []int64 {
	t.Helper()
	var s webmScanner
	var found []int64
	prev := 0
	for _, cut := range append(cuts, len(stream)) {
		piece := stream[prev:cut]
		c, err := s.feed(piece)
		if err != nil {
			t.Fatalf("feed(stream[%d:%d]): %v", prev, cut, err)
		}
		if c != nil {
			end := c.Offset + int64(len(c.Header))
			if !bytes.Equal(c.Header, stream[c.Offset:end]) || int64(prev+c.Body) != end {
				t.Fatalf("in stream[%d:%d]: cluster %+v, but the stream there is % x", prev, cut, c, stream[c.Offset:end])
			}
			found = append(found, c.Offset)
		}
		prev = cut
	}
	return found
}

func everyByte(n int) []int {
	cuts := make([]int, n)
	for i := range cuts {
		cuts[i] = i
	}
	return cuts
}

func TestScannerFindsEveryCluster(t *testing.T) {
	stream, _, clusters := testStream(5)
	var want []int64
	for _, c := range clusters {
		want = append(want, int64(c))
	}
	// Byte by byte, each cluster ends its header in a piece of its own.
	got := scanPieces(t, stream, everyByte(len(stream)))
	if !slices.Equal(got, want) {
		t.Fatalf("clusters at %v, want %v", got, want)
	}
}

// Wherever a chunk is cut, even inside a cluster's ID or size, the first
// cluster is found, with its header whole.
func TestScannerEveryCut(t *testing.T) {
	stream, header, _ := testStream(2)
	for cut := range len(stream) + 1 {
		got := scanPieces(t, stream, []int{cut})
		if len(got) == 0 || got[0] != int64(header) {
			t.Fatalf("cut at %d: clusters at %v, want the first at %d", cut, got, header)
		}
	}
}

// A recording made by Chromium's MediaRecorder from its fake microphone
// (testdata/chromium-fake-mic.webm, 3 s of Opus at 64 kbit/s): the
// scanner follows it to the end, in pieces of any size, and every cluster
// it finds begins with the Cluster ID.
func TestScannerChromiumRecording(t *testing.T) {
	stream, err := os.ReadFile("testdata/chromium-fake-mic.webm")
	if err != nil {
		t.Fatal(err)
	}
	all := scanPieces(t, stream, everyByte(len(stream)))
	if len(all) < 3 {
		t.Fatalf("%d clusters in 3 s of audio", len(all))
	}
	for _, off := range all {
		if !bytes.HasPrefix(stream[off:], idBytes(idCluster)) {
			t.Fatalf("a cluster at %d begins % x", off, stream[off:off+4])
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		var cuts []int
		for at := rng.IntN(3000); at < len(stream); at += 1 + rng.IntN(3000) {
			cuts = append(cuts, at)
		}
		got := scanPieces(t, stream, cuts)
		if len(got) == 0 || got[0] != all[0] {
			t.Fatalf("cut at %v: clusters at %v, want the first at %d", cuts, got, all[0])
		}
	}
}

func TestScannerRefuses(t *testing.T) {
	stream, header, _ := testStream(1)
	for _, tc := range []struct {
		name   string
		stream []byte
	}{
		{"not an EBML header first", element(0x4282, []byte("webm"))},
		{"Ogg", []byte("OggS\x00\x02")},
		{"a zero byte for an ID", append(stream[:header:header], 0x00)},
		{"a size of more than 8 bytes", append(stream[:header:header], 0xA3, 0x00)},
		{"an unknown size on a frame", append(stream[:header:header], open(0xA3)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s webmScanner
			_, err := s.feed(tc.stream)
			if !errors.Is(err, errNotWebM) {
				t.Fatalf("feed: %v, want errNotWebM", err)
			}
			// Once lost, the scanner stays lost.
			if _, err2 := s.feed(stream); err2 != err {
				t.Fatalf("then: %v", err2)
			}
		})
	}
}
