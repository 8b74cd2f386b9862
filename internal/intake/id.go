package intake

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// crockford is Crockford's base32 alphabet, lowercased: ids appear in URLs
// and Step Functions execution names, where lowercase reads better.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// JobIDPrefix starts every job id.
const JobIDPrefix = "vj_"

// NewJobID returns "vj_" and a 26-character ULID (48-bit millisecond time,
// 80 random bits), so ids sort by creation time and are valid execution
// names.
func NewJobID() string {
	var entropy [10]byte
	// crypto/rand.Read never returns an error (Go 1.24+).
	_, _ = rand.Read(entropy[:])
	return newJobID(time.Now(), entropy)
}

func newJobID(now time.Time, entropy [10]byte) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	copy(b[6:], entropy[:])
	// 128 bits as 26 base32 digits: the first digit carries 3 bits.
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return JobIDPrefix + string(out[:])
}

// ValidJobID reports whether id has the shape NewJobID produces. Reads use
// it to answer 404 without a store round trip for junk ids.
func ValidJobID(id string) bool {
	if len(id) != len(JobIDPrefix)+26 || id[:len(JobIDPrefix)] != JobIDPrefix {
		return false
	}
	body := id[len(JobIDPrefix):]
	// The first digit carries only the top 3 bits of the 128.
	if body[0] > '7' {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' && c != 'i' && c != 'l' && c != 'o' && c != 'u') {
			return false
		}
	}
	return true
}
