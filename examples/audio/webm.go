package main

import (
	"errors"
	"fmt"
)

// A talk reaches the server as MediaRecorder hands it over: a WebM stream
// cut into pieces at arbitrary bytes (Chromium cuts in the middle of
// elements, even of an element's ID). A listener that arrives mid-talk
// cannot start from any byte: a player needs the stream's header (the
// EBML header and the Segment's Info and Tracks, everything before the
// first Cluster) and then a Cluster from its beginning. webmScanner finds
// where clusters begin, without holding more than an element header.

// Element IDs (Matroska), with their length-marker bits, as they appear on
// the wire.
const (
	idEBML    = 0x1A45DFA3
	idSegment = 0x18538067
	idCluster = 0x1F43B675
)

// errNotWebM reports a stream the scanner cannot follow.
var errNotWebM = errors.New("not a WebM stream")

// A webmScanner follows a WebM stream element by element, fed in pieces
// of any size. It descends into the Segment and into Clusters, and steps
// over every other element by its declared size, so that bytes inside an
// audio frame are never taken for an element: a search for the Cluster
// ID's four bytes would find them in the audio, now and then.
//
// The zero webmScanner is ready for a stream's first byte.
type webmScanner struct {
	offset int64    // bytes fed so far
	skip   int64    // bytes of the current element's body still to step over
	hdr    [12]byte // the element header being read: an ID (1-4 bytes) and a size (1-8)
	n      int      // bytes of hdr read
	err    error    // once set, every later feed returns it
}

// A clusterStart is where a cluster begins, as found in one piece of the
// stream: the cluster's element header, which may have begun in an earlier
// piece, and the index in this piece of the byte after it. A listener
// joining there is sent the stream's header, then Header, then the piece
// from Body on.
type clusterStart struct {
	Offset int64  // of the cluster's first byte in the stream
	Header []byte // the cluster's ID and size
	Body   int    // index in the piece of the first byte after Header
}

// feed scans the next piece of the stream and returns the first cluster
// whose element header ends in it, if any.
func (s *webmScanner) feed(p []byte) (*clusterStart, error) {
	if s.err != nil {
		return nil, s.err
	}
	var first *clusterStart
	for i := 0; i < len(p); {
		if s.skip > 0 {
			k := min(s.skip, int64(len(p)-i))
			i += int(k)
			s.skip -= k
			s.offset += k
			continue
		}
		s.hdr[s.n] = p[i]
		s.n++
		i++
		s.offset++
		id, size, known, done, err := parseHeader(s.hdr[:s.n])
		if err != nil {
			s.err = fmt.Errorf("%w: at byte %d: %v", errNotWebM, s.offset-int64(s.n), err)
			return nil, s.err
		}
		if !done {
			continue
		}
		header := s.hdr[:s.n]
		s.n = 0
		switch {
		case s.offset == int64(len(header)) && id != idEBML:
			s.err = fmt.Errorf("%w: it begins with element %#x, not an EBML header", errNotWebM, id)
			return nil, s.err
		case id == idSegment:
			// Descend: the Segment's children follow.
		case id == idCluster:
			// Descend too, and note the first cluster of this piece.
			if first == nil {
				first = &clusterStart{Offset: s.offset - int64(len(header)), Header: append([]byte(nil), header...), Body: i}
			}
		case !known:
			// A live stream leaves only the Segment's and the Clusters'
			// sizes unknown; any other element of unknown size cannot be
			// stepped over.
			s.err = fmt.Errorf("%w: element %#x at byte %d has an unknown size", errNotWebM, id, s.offset-int64(len(header)))
			return nil, s.err
		default:
			s.skip = size
		}
	}
	return first, nil
}

// parseHeader parses an element header from its first bytes, b. It reports
// done once b holds the whole header, and an error as soon as b cannot
// begin one.
func parseHeader(b []byte) (id uint32, size int64, known, done bool, err error) {
	idLen := vintLen(b[0])
	if idLen == 0 || idLen > 4 {
		return 0, 0, false, false, fmt.Errorf("byte %#02x cannot begin an element ID", b[0])
	}
	if len(b) <= idLen {
		return 0, 0, false, false, nil
	}
	sizeLen := vintLen(b[idLen])
	if sizeLen == 0 {
		return 0, 0, false, false, errors.New("an element size of more than 8 bytes")
	}
	if len(b) < idLen+sizeLen {
		return 0, 0, false, false, nil
	}
	for _, c := range b[:idLen] {
		id = id<<8 | uint32(c) // an ID keeps its marker bit
	}
	// A size drops its marker bit; all of the rest set means unknown.
	v := uint64(b[idLen]) & (0xFF >> sizeLen)
	for _, c := range b[idLen+1 : idLen+sizeLen] {
		v = v<<8 | uint64(c)
	}
	if v == 1<<(7*sizeLen)-1 {
		return id, 0, false, true, nil
	}
	return id, int64(v), true, true, nil // at most 2^56-2: no overflow
}

// vintLen returns the length of an EBML variable-length integer from its
// first byte: one more than its leading zero bits, or 0 for a zero byte.
func vintLen(b byte) int {
	for n := 1; n <= 8; n++ {
		if b&(0x80>>(n-1)) != 0 {
			return n
		}
	}
	return 0
}
