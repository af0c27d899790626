package websocket

import (
	"errors"
	"fmt"
)

// dfChecker is an independent, strict DEFLATE decoder for the encoder's
// tests, written from RFC 1951 with its own tables typed from the RFC's
// printed ones (so a mistake in the encoder's derived tables shows up as
// a mismatch). Beyond decoding, it enforces what the encoder promises and
// compress/flate's inflater would not check:
//   - no back-reference reaches farther than maxDist (2^windowBits), nor
//     before the start of the history it was given;
//   - every Huffman code is complete (zlib rejects incomplete codes) and
//     none is over-subscribed;
//   - no block is final, and each message ends with an empty stored block
//     exactly at the end of its bytes (the sync flush of RFC 7692 §7.2.1).
//
// Invariant: out holds everything decoded since the last reset: the
// history later back-references may use.
type dfChecker struct {
	maxDist int
	out     []byte

	in    []byte
	pos   int
	acc   uint64
	nbits uint

	// Statistics across messages.
	farthest int    // longest distance seen
	blocks   [3]int // blocks of each BTYPE (the sync flushes included)
}

var (
	dfcLenBase   = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	dfcLenExtra  = [29]uint{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	dfcDistBase  = [30]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	dfcDistExtra = [30]uint{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	dfcCLOrder   = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

var errDfcInput = errors.New("dfChecker: input ends inside a block")

func (c *dfChecker) bits(n uint) (int, error) {
	for c.nbits < n {
		if c.pos >= len(c.in) {
			return 0, errDfcInput
		}
		c.acc |= uint64(c.in[c.pos]) << c.nbits
		c.pos++
		c.nbits += 8
	}
	v := int(c.acc & (1<<n - 1))
	c.acc >>= n
	c.nbits -= n
	return v, nil
}

// dfcHuff is a canonical code as counts per length and the symbols in
// code order; decoding walks the lengths, one bit at a time.
type dfcHuff struct {
	count   [16]int
	symbols []int
}

func dfcBuild(lens []int, what string) (*dfcHuff, error) {
	h := &dfcHuff{}
	for _, l := range lens {
		h.count[l]++
	}
	if h.count[0] == len(lens) {
		return nil, fmt.Errorf("%s code is empty", what)
	}
	left := 1
	for l := 1; l <= 15; l++ {
		left = left<<1 - h.count[l]
		if left < 0 {
			return nil, fmt.Errorf("%s code is over-subscribed", what)
		}
	}
	if left > 0 {
		return nil, fmt.Errorf("%s code is incomplete", what)
	}
	var offs [16]int
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	h.symbols = make([]int, offs[15]+h.count[15])
	for sym, l := range lens {
		if l != 0 {
			h.symbols[offs[l]] = sym
			offs[l]++
		}
	}
	return h, nil
}

func (c *dfChecker) decode(h *dfcHuff) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l <= 15; l++ {
		b, err := c.bits(1)
		if err != nil {
			return 0, err
		}
		code |= b
		n := h.count[l]
		if code-first < n {
			return h.symbols[index+code-first], nil
		}
		index += n
		first = (first + n) << 1
		code <<= 1
	}
	return 0, errors.New("dfChecker: no such code")
}

// message decodes one message's compressed bytes, tail included, and
// returns what it decodes to.
func (c *dfChecker) message(data []byte) ([]byte, error) {
	c.in, c.pos, c.acc, c.nbits = data, 0, 0, 0
	startLen := len(c.out)
	lastEmptyStored := false
	for c.pos < len(c.in) || c.nbits >= 8 {
		final, err := c.bits(1)
		if err != nil {
			return nil, err
		}
		if final == 1 {
			return nil, errors.New("dfChecker: final block")
		}
		kind, err := c.bits(2)
		if err != nil {
			return nil, err
		}
		lastEmptyStored = false
		switch kind {
		case 0:
			c.blocks[0]++
			c.acc >>= c.nbits % 8
			c.nbits -= c.nbits % 8
			ln, err := c.bits(16)
			if err != nil {
				return nil, err
			}
			nln, err := c.bits(16)
			if err != nil {
				return nil, err
			}
			if ln != ^nln&0xffff {
				return nil, errors.New("dfChecker: stored LEN and NLEN disagree")
			}
			for i := 0; i < ln; i++ {
				b, err := c.bits(8)
				if err != nil {
					return nil, err
				}
				c.out = append(c.out, byte(b))
			}
			lastEmptyStored = ln == 0
		case 1:
			c.blocks[1]++
			var lens [288 + 32]int
			for i := range 288 {
				switch {
				case i < 144:
					lens[i] = 8
				case i < 256:
					lens[i] = 9
				case i < 280:
					lens[i] = 7
				default:
					lens[i] = 8
				}
			}
			for i := range 32 {
				lens[288+i] = 5
			}
			lit, _ := dfcBuild(lens[:288], "fixed literal/length")
			dist, _ := dfcBuild(lens[288:], "fixed distance")
			if err := c.codes(lit, dist); err != nil {
				return nil, err
			}
		case 2:
			c.blocks[2]++
			lit, dist, err := c.dynamicCodes()
			if err != nil {
				return nil, err
			}
			if err := c.codes(lit, dist); err != nil {
				return nil, err
			}
		default:
			return nil, errors.New("dfChecker: reserved block type")
		}
	}
	if c.nbits != 0 {
		return nil, errors.New("dfChecker: message does not end on a byte boundary")
	}
	if !lastEmptyStored {
		return nil, errors.New("dfChecker: message does not end with an empty stored block")
	}
	return c.out[startLen:], nil
}

func (c *dfChecker) dynamicCodes() (lit, dist *dfcHuff, err error) {
	hlit, err := c.bits(5)
	if err != nil {
		return nil, nil, err
	}
	hdist, err := c.bits(5)
	if err != nil {
		return nil, nil, err
	}
	hclen, err := c.bits(4)
	if err != nil {
		return nil, nil, err
	}
	nlit, ndist := hlit+257, hdist+1
	if nlit > 286 || ndist > 30 {
		return nil, nil, errors.New("dfChecker: too many codes")
	}
	var clLens [19]int
	for i := 0; i < hclen+4; i++ {
		if clLens[dfcCLOrder[i]], err = c.bits(3); err != nil {
			return nil, nil, err
		}
	}
	cl, err := dfcBuild(clLens[:], "code length")
	if err != nil {
		return nil, nil, err
	}
	lens := make([]int, nlit+ndist)
	for i := 0; i < len(lens); {
		sym, err := c.decode(cl)
		if err != nil {
			return nil, nil, err
		}
		if sym < 16 {
			lens[i] = sym
			i++
			continue
		}
		val, rep := 0, 0
		switch sym {
		case 16:
			if i == 0 {
				return nil, nil, errors.New("dfChecker: repeat with no previous length")
			}
			val = lens[i-1]
			rep, err = c.bits(2)
			rep += 3
		case 17:
			rep, err = c.bits(3)
			rep += 3
		case 18:
			rep, err = c.bits(7)
			rep += 11
		}
		if err != nil {
			return nil, nil, err
		}
		if i+rep > len(lens) {
			return nil, nil, errors.New("dfChecker: repeat past the code lengths")
		}
		for ; rep > 0; rep-- {
			lens[i] = val
			i++
		}
	}
	if lens[256] == 0 {
		return nil, nil, errors.New("dfChecker: no end-of-block code")
	}
	if lit, err = dfcBuild(lens[:nlit], "literal/length"); err != nil {
		return nil, nil, err
	}
	if dist, err = dfcBuild(lens[nlit:], "distance"); err != nil {
		return nil, nil, err
	}
	return lit, dist, nil
}

func (c *dfChecker) codes(lit, dist *dfcHuff) error {
	for {
		sym, err := c.decode(lit)
		if err != nil {
			return err
		}
		switch {
		case sym < 256:
			c.out = append(c.out, byte(sym))
			continue
		case sym == 256:
			return nil
		case sym > 285:
			return fmt.Errorf("dfChecker: length symbol %d", sym)
		}
		sym -= 257
		e, err := c.bits(dfcLenExtra[sym])
		if err != nil {
			return err
		}
		length := dfcLenBase[sym] + e
		ds, err := c.decode(dist)
		if err != nil {
			return err
		}
		if ds > 29 {
			return fmt.Errorf("dfChecker: distance symbol %d", ds)
		}
		e, err = c.bits(dfcDistExtra[ds])
		if err != nil {
			return err
		}
		d := dfcDistBase[ds] + e
		if d > c.maxDist {
			return fmt.Errorf("dfChecker: distance %d beyond the window of %d", d, c.maxDist)
		}
		if d > len(c.out) {
			return fmt.Errorf("dfChecker: distance %d before the start of the history (%d bytes)", d, len(c.out))
		}
		c.farthest = max(c.farthest, d)
		for range length {
			c.out = append(c.out, c.out[len(c.out)-d])
		}
	}
}
