package main

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
)

// corpus is the test data of one compression series: Autobahn's sections
// 12 and 13 send slices of a file, one after another, and the server must
// echo each. Autobahn ships five files (a JSON report, the Lena bitmap,
// Goethe's Faust from Project Gutenberg, an HTML page and a PDF). This suite
// does not copy them: it generates data of the same kind, the same size and
// the same message type, deterministically (fixed seeds), so the messages
// compress roughly as Autobahn's do and every run sends the same octets.
type corpus struct {
	name   string // Autobahn's key in WS_COMPRESSION_TESTDATA
	desc   string
	binary bool // sent as binary messages; text corpora are ASCII, so any slice is valid UTF-8
	size   int  // the size of Autobahn's file
	build  func(size int) []byte

	once sync.Once
	data []byte
}

// bytes returns the corpus, generating it on first use.
func (c *corpus) bytes() []byte {
	c.once.Do(func() {
		c.data = c.build(c.size)
		if len(c.data) != c.size {
			panic(fmt.Sprintf("corpus %s: generated %d octets, want %d", c.name, len(c.data), c.size))
		}
	})
	return c.data
}

// slice is Autobahn's sendOne: n octets from offset *ptr, wrapping around
// the end of the data, after which *ptr moves on by n.
func (c *corpus) slice(ptr *int, n int) []byte {
	data := c.bytes()
	from, to := *ptr, (*ptr+n)%len(data)
	*ptr = to
	if to > from {
		return data[from:to]
	}
	out := make([]byte, 0, n)
	return append(append(out, data[from:]...), data[:to]...)
}

// The corpora in the order Autobahn numbers them: 12.1-12.5 follow the
// iteration order of its (Python 2) WS_COMPRESSION_TESTDATA dict, and 13.x
// all use the JSON file. The sizes are those of Autobahn's files.
var (
	jsonCorpus  = &corpus{name: "json_data1", desc: "Large JSON data file", size: 194056, build: genJSON}
	lenaCorpus  = &corpus{name: "lena512", desc: "Lena Picture, Bitmap 512x512 bw", binary: true, size: 263222, build: genBitmap}
	faustCorpus = &corpus{name: "gutenberg_faust", desc: "Human readable text, Goethe's Faust I (German)", binary: true, size: 222218, build: genVerse}
	htmlCorpus  = &corpus{name: "html_data1", desc: "Large HTML file", size: 263527, build: genHTML}
	pdfCorpus   = &corpus{name: "ooms", desc: "A larger PDF", binary: true, size: 1042328, build: genPDF}

	compressionCorpora = []*corpus{jsonCorpus, lenaCorpus, faustCorpus, htmlCorpus, pdfCorpus}
)

// fill repeats gen until size octets are produced and cuts the result.
func fill(size int, gen func(b *bytes.Buffer)) []byte {
	var b bytes.Buffer
	b.Grow(size + 4096)
	for b.Len() < size {
		gen(&b)
	}
	return b.Bytes()[:size]
}

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// genJSON writes an Autobahn-style index.json: agents, case ids and their
// results. Very repetitive, like the original (itself a report).
func genJSON(size int) []byte {
	r := seeded(1)
	agents := []string{"AutobahnPython/0.6.0", "AutobahnServer/0.5.2", "Jetty/8.1", "WebSocket++/0.2.0dev",
		"Chrome/23.0.1271.97", "Firefox/17.0", "wirekit/1.0"}
	behaviors := []string{"OK", "OK", "OK", "OK", "NON-STRICT", "INFORMATIONAL", "FAILED"}
	codes := []string{"1000", "1000", "1000", "1002", "1007", "null"}
	agent := 0
	return fill(size, func(b *bytes.Buffer) {
		a := agents[agent%len(agents)]
		agent++
		file := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return '_'
		}, strings.ToLower(a))
		if b.Len() == 0 {
			b.WriteString("{\n")
		}
		fmt.Fprintf(b, "   %q: {\n", a)
		for s := 1; s <= 13; s++ {
			for i := 1; i <= 1+r.IntN(12); i++ {
				id := fmt.Sprintf("%d.%d.%d", s, 1+r.IntN(9), i)
				fmt.Fprintf(b, "      %q: {\n", id)
				fmt.Fprintf(b, "         \"behavior\": %q,\n", behaviors[r.IntN(len(behaviors))])
				fmt.Fprintf(b, "         \"behaviorClose\": %q,\n", behaviors[r.IntN(len(behaviors)-2)])
				fmt.Fprintf(b, "         \"duration\": %d,\n", r.IntN(400))
				fmt.Fprintf(b, "         \"remoteCloseCode\": %s,\n", codes[r.IntN(len(codes))])
				fmt.Fprintf(b, "         \"reportfile\": \"%s_case_%s.json\"\n", file, strings.ReplaceAll(id, ".", "_"))
				b.WriteString("      },\n")
			}
		}
		b.WriteString("   },\n")
	})
}

// genBitmap writes a 512x512 8-bit grayscale BMP (1078 octets of header and
// palette, then the pixels): smooth shapes with sensor-like noise, so it
// compresses about as poorly as a photograph.
func genBitmap(size int) []byte {
	const w, h, offset = 512, 512, 14 + 40 + 256*4
	b := make([]byte, offset, size)
	copy(b, "BM")
	binary.LittleEndian.PutUint32(b[2:], uint32(size))
	binary.LittleEndian.PutUint32(b[10:], offset)
	binary.LittleEndian.PutUint32(b[14:], 40)
	binary.LittleEndian.PutUint32(b[18:], w)
	binary.LittleEndian.PutUint32(b[22:], h)
	binary.LittleEndian.PutUint16(b[26:], 1)
	binary.LittleEndian.PutUint16(b[28:], 8)
	binary.LittleEndian.PutUint32(b[34:], w*h)
	binary.LittleEndian.PutUint32(b[46:], 256)
	for i := 0; i < 256; i++ {
		p := 54 + 4*i
		b[p], b[p+1], b[p+2] = byte(i), byte(i), byte(i)
	}
	r := seeded(2)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)/w, float64(y)/h
			v := 120 + 60*math.Sin(6*fx+2*fy) + 40*math.Cos(9*fy-3*fx*fy) + 25*math.Sin(23*fx*fy)
			v += float64(r.IntN(17) - 8)
			b = append(b, byte(min(max(v, 0), 255)))
		}
	}
	return b[:size]
}

// genVerse writes German verse as a Gutenberg text has it: speakers,
// lines of made-up German words with umlauts (UTF-8), CRLF line ends. It is
// sent as binary, as Autobahn sends its Faust.
func genVerse(size int) []byte {
	r := seeded(3)
	speakers := []string{"FAUST.", "MEPHISTOPHELES.", "WAGNER.", "MARGARETE.", "MARTHE.", "CHOR DER ENGEL.", "SCHÜLER."}
	words := []string{"und", "die", "der", "ich", "nicht", "das", "zu", "ein", "mit", "mir", "sich", "mich", "was",
		"Geist", "Welt", "Herz", "Nacht", "Himmel", "Erde", "Stunde", "Augenblick", "Glück", "Mädchen", "schön",
		"über", "hören", "können", "wüßte", "Gefühl", "Natur", "Tränen", "süß", "Blüte", "lieb", "wohl", "heiß",
		"Teufel", "Wissenschaft", "Bücher", "Leben", "Tod", "Seele", "ewig", "Liebe", "Traum", "Feuer", "Gretchen"}
	return fill(size, func(b *bytes.Buffer) {
		fmt.Fprintf(b, "\r\n%s\r\n", speakers[r.IntN(len(speakers))])
		for l := 2 + r.IntN(8); l > 0; l-- {
			n := 4 + r.IntN(6)
			for i := 0; i < n; i++ {
				w := words[r.IntN(len(words))]
				if i == 0 {
					w = strings.ToUpper(w[:1]) + w[1:]
				} else {
					b.WriteByte(' ')
				}
				b.WriteString(w)
			}
			b.WriteString([]string{",", ".", "!", ";", "?", ""}[r.IntN(6)] + "\r\n")
		}
	})
}

// genHTML writes a report page of tables and prose in ASCII markup.
func genHTML(size int) []byte {
	r := seeded(4)
	words := strings.Fields("the server must echo each message back to the client with the same payload and type " +
		"a frame with reserved bits set fails the connection close handshake timeout fragment opcode " +
		"payload length masking key text binary ping pong continuation extension compression window")
	classes := []string{"case_ok", "case_ok", "case_non_strict", "case_failed", "case_info"}
	n := 0
	return fill(size, func(b *bytes.Buffer) {
		if b.Len() == 0 {
			b.WriteString("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>Test Report</title>\n</head>\n<body>\n")
		}
		n++
		fmt.Fprintf(b, "<h2 id=\"section_%d\">Section %d</h2>\n<p>", n, n)
		for i := 20 + r.IntN(40); i > 0; i-- {
			b.WriteString(words[r.IntN(len(words))])
			b.WriteByte(' ')
		}
		b.WriteString("</p>\n<table class=\"agent_case_result\">\n")
		for i := 1 + r.IntN(20); i > 0; i-- {
			c := classes[r.IntN(len(classes))]
			fmt.Fprintf(b, "   <tr><td class=\"case_id\"><a href=\"#case_desc_%d_%d\">Case %d.%d</a></td>"+
				"<td class=\"%s\"><a href=\"report_case_%d_%d.html\">%s</a><br/><span class=\"case_duration\">%d ms</span></td></tr>\n",
				n, i, n, i, c, n, i, strings.ToUpper(strings.TrimPrefix(c, "case_")), r.IntN(1000))
		}
		b.WriteString("</table>\n")
	})
}

// genPDF writes a PDF-like file: object headers around streams, most of
// them deflated page content (already compressed, so nearly random), some
// plain content streams.
func genPDF(size int) []byte {
	r := seeded(5)
	obj := 0
	var page bytes.Buffer
	var packed bytes.Buffer
	return fill(size, func(b *bytes.Buffer) {
		if b.Len() == 0 {
			b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
		}
		obj++
		page.Reset()
		for i := 20 + r.IntN(60); i > 0; i-- {
			fmt.Fprintf(&page, "BT /F%d %d Tf %d %d Td (%x) Tj ET\n", 1+r.IntN(4), 8+r.IntN(8), r.IntN(600), r.IntN(800), r.Uint64())
		}
		if r.IntN(4) == 0 {
			fmt.Fprintf(b, "%d 0 obj\n<< /Length %d >>\nstream\n", obj, page.Len())
			b.Write(page.Bytes())
		} else {
			packed.Reset()
			zw, _ := flate.NewWriter(&packed, flate.BestCompression)
			zw.Write(page.Bytes())
			noise := make([]byte, 4096+r.IntN(8192)) // an embedded image
			for i := range noise {
				noise[i] = byte(r.Uint32())
			}
			zw.Write(noise)
			zw.Close()
			fmt.Fprintf(b, "%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", obj, packed.Len())
			b.Write(packed.Bytes())
		}
		b.WriteString("\nendstream\nendobj\n")
	})
}
