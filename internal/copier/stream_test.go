package copier

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
)

// stream is a deterministic synthetic video body of size bytes: a 1 MiB
// pseudo-random block repeated. It costs little more than a memcpy, so
// benchmarks measure the copier rather than the source.
type stream struct {
	block []byte
	size  int64
	off   int64
}

func newStream(size int64, seed uint64) *stream {
	block := make([]byte, 1<<20)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 1, 2, 3})
	_, _ = r.Read(block)
	return &stream{block: block, size: size}
}

func (s *stream) Read(p []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), s.size-s.off)]
	n := 0
	for n < len(p) {
		k := copy(p[n:], s.block[(s.off+int64(n))%int64(len(s.block)):])
		n += k
	}
	s.off += int64(n)
	return n, nil
}

// sum is the hex sha256 of a fresh stream of the same size and seed.
func sum(size int64, seed uint64) string {
	h := sha256.New()
	if _, err := io.Copy(h, newStream(size, seed)); err != nil {
		panic(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

var errConnReset = errors.New("connection reset by peer")

// failAfter returns r's first n bytes, then err.
func failAfter(r io.Reader, n int64, err error) io.Reader {
	return io.MultiReader(io.LimitReader(r, n), errReader{err})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// untouchable fails the test's expectation if anyone reads it.
type untouchable struct{ read *bool }

func (u untouchable) Read([]byte) (int, error) {
	*u.read = true
	return 0, errors.New("body read although the copy should have been skipped")
}
