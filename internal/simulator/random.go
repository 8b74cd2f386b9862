package simulator

import (
	"crypto/sha256"
	"encoding/binary"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// unit returns a uniform number in [0,1) determined only by the seed and the
// parts. Every random choice goes through it, keyed by what the choice is
// about (job sequence number, delivery key, attempt, poll count), so the
// outcome does not depend on goroutine scheduling: the same seed and profile
// give the same faults however the deliveries interleave.
func unit(seed int64, parts ...string) float64 {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	sum := h.Sum(nil)
	return float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
}

func seedBytes(seed int64, parts ...string) [32]byte {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	h.Write([]byte(strings.Join(parts, "\x00")))
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func newStream(seed int64, parts ...string) *rand.ChaCha8 {
	return rand.NewChaCha8(seedBytes(seed, parts...))
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ulid encodes a 48-bit millisecond time and 80 seeded bits as the 26-char
// Crockford base32 ULID the gateway uses for job ids.
func ulid(t time.Time, seed int64, seq int) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	e := seedBytes(seed, "ulid", strconv.Itoa(seq))
	copy(b[6:], e[:10])
	digits := new(big.Int).SetBytes(b[:]).Text(32)
	var sb strings.Builder
	for i := len(digits); i < 26; i++ {
		sb.WriteByte('0')
	}
	for _, c := range digits {
		var v int
		if c <= '9' {
			v = int(c - '0')
		} else {
			v = int(c-'a') + 10
		}
		sb.WriteByte(crockford[v])
	}
	return sb.String()
}
