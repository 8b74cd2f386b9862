// Package copier streams a finished video (the body of the gateway's
// GET /v1/videos/{id}/content response) into S3 exactly once and intact,
// with bounded memory.
//
// The body is read once, front to back, into the transfer manager's
// multipart upload (feature/s3/transfermanager), which holds at most
// (concurrency+1) × part size bytes at a time whatever the video's size.
// On the way, the copier counts the bytes and hashes them with SHA-256 on
// goroutines of its own that read ahead of the upload (readAhead), so
// hashing overlaps with reading and sending; a body that ends early,
// fails mid-way or runs past its expected length fails the upload, and the
// multipart upload is aborted, so no partial object ever appears.
//
// Object metadata must carry the sha256, but S3 fixes metadata when an
// upload starts, before a single byte has been hashed. So the copier
// uploads to a staging key (StagingPrefix + key), and once the size and
// hash are known and checked it copies the object server-side to the final
// key with the full metadata (job-id, provider-job-id, sha256, model; see
// docs/internals.md "S3 objects") and deletes the staging object. The final
// key therefore only ever holds a verified object and emits one
// ObjectCreated event. A crash between the steps leaves a staging object,
// which the bucket's lifecycle rule expires.
//
// Retries are idempotent: Copy first looks at the final key, keeps an
// object already there whose size and sha256 match what is expected, and
// otherwise overwrites it.
//
// See https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html
// and https://docs.aws.amazon.com/AmazonS3/latest/userguide/copy-object.html.
package copier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Metadata keys on stored objects (S3 returns them lower-case).
const (
	MetaJobID         = "job-id"
	MetaProviderJobID = "provider-job-id"
	MetaSHA256        = "sha256"
	MetaModel         = "model"
)

// Defaults. 8 MiB × 4 keeps a copy under ~40 MiB of buffers, well inside a
// 256 MiB Lambda, while keeping four parts in flight.
const (
	DefaultPartSize      = 8 << 20
	DefaultConcurrency   = 4
	DefaultStagingPrefix = "staging/"
	DefaultContentType   = "video/mp4"

	// minPartSize is S3's smallest part (except the last).
	minPartSize = 5 << 20
	// maxCopyObjectSize is the largest object CopyObject copies in one
	// request; larger objects are copied part by part.
	maxCopyObjectSize = 5 << 30
	// abortTimeout bounds cleanup that runs after ctx may be gone.
	abortTimeout = 30 * time.Second
)

// GCPercent is the garbage collector target (GOGC) the store function runs
// copies with, beside the soft memory limit MemoryBudget (functions/store
// sets both on its first invocation unless GOGC or GOMEMLIMIT is set). A
// copy keeps its part buffers live, (concurrency+1) × part size, while
// every part request leaves a little garbage, and the transfer manager
// reads each upload's first part with io.ReadAll outside its part pool
// (tens of MiB of transient allocation). At Go's default GOGC of 100 the
// heap may grow to twice the live heap before a collection, so a longer
// copy reached a higher peak (measured: 58 MiB for 1 GiB, 82 MiB for 4 GiB).
// At 25 the peak stays within a quarter of the live heap, and the memory
// limit caps the case where a collection saw the first part still live.
// The buffers hold no pointers, so the extra collections cost little.
const GCPercent = 25

// MemoryBudget is the soft memory limit (debug.SetMemoryLimit) a process
// running c's copies one at a time should set: the part buffers and the
// transfer manager's first part, c's read-ahead chunks, and 12 MiB for
// everything else (64 MiB with the defaults). It is a target for the
// collector, not a cap: a copy never fails for it.
func (c *Copier) MemoryBudget() int64 {
	return 12<<20 + int64(c.concurrency+2)*c.partSize + chunkCount*chunkSize
}

// Errors Copy reports; wrapped, so match them with errors.Is.
var (
	// ErrTruncated: the body ended before its expected length, or
	// failed mid-way (a cut connection). Retrying from byte 0 may work.
	ErrTruncated = errors.New("video stream truncated")
	// ErrSizeMismatch: the body ran past its expected length, or
	// Content-Length and asset.bytes disagree.
	ErrSizeMismatch = errors.New("video size mismatch")
	// ErrChecksumMismatch: the body's sha256 differs from the one
	// expected.
	ErrChecksumMismatch = errors.New("video sha256 mismatch")
)

// API is the part of the S3 client the copier uses: what the transfer
// manager needs, plus the server-side copy and delete that promote a staged
// upload.
type API interface {
	transfermanager.S3APIClient
	CopyObject(ctx context.Context, in *s3.CopyObjectInput, optFns ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
	UploadPartCopy(ctx context.Context, in *s3.UploadPartCopyInput, optFns ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

var _ API = (*s3.Client)(nil)

// Copier copies video streams into S3. It is safe for concurrent use.
type Copier struct {
	s3            API
	tm            *transfermanager.Client
	partSize      int64
	concurrency   int
	stagingPrefix string
	// copyThreshold is the size above which promotion copies part by
	// part; a variable so tests can exercise that path cheaply.
	copyThreshold int64
	copyPartSize  int64
}

// Option configures a Copier.
type Option func(*Copier)

// WithPartSize sets the multipart part size (at least 5 MiB, S3's minimum;
// smaller values are raised to it).
func WithPartSize(n int64) Option { return func(c *Copier) { c.partSize = max(n, minPartSize) } }

// WithConcurrency sets how many parts upload at once (at least 1).
func WithConcurrency(n int) Option { return func(c *Copier) { c.concurrency = max(n, 1) } }

// WithStagingPrefix sets the key prefix uploads are staged under before
// they are verified and copied to their final key.
func WithStagingPrefix(p string) Option { return func(c *Copier) { c.stagingPrefix = p } }

// New returns a Copier writing through client.
func New(client API, opts ...Option) *Copier {
	c := &Copier{
		s3:            client,
		partSize:      DefaultPartSize,
		concurrency:   DefaultConcurrency,
		stagingPrefix: DefaultStagingPrefix,
		copyThreshold: maxCopyObjectSize,
		copyPartSize:  512 << 20,
	}
	for _, o := range opts {
		o(c)
	}
	c.tm = transfermanager.New(client, func(o *transfermanager.Options) {
		o.PartSizeBytes = c.partSize
		o.Concurrency = c.concurrency
		// The first part is read with io.ReadAll up to the threshold;
		// keeping it at one part keeps that buffer to one part too.
		o.MultipartUploadThreshold = c.partSize
		// Abort the multipart upload even when ctx is what failed.
		o.FailTimeout = abortTimeout
	})
	return c
}

// Input describes one copy.
type Input struct {
	Bucket string
	// Key is the final object key, videos/<jobId>/<index>.mp4.
	Key string
	// Body is read once, to EOF or the first error. Copy does not close it.
	Body io.Reader
	// ContentType defaults to video/mp4.
	ContentType string
	// ContentLength is the response's Content-Length; negative when
	// unknown (as http.Response reports it).
	ContentLength int64
	// AssetBytes is the job's asset.bytes; zero or negative when unknown.
	AssetBytes int64
	// ExpectSHA256 is the hex sha256 the video must have, when known
	// (from an earlier copy recorded on the job, or asset.sha256).
	ExpectSHA256 string

	JobID         string
	ProviderJobID string
	Model         string
}

// Result is the stored object.
type Result struct {
	Bucket      string
	Key         string
	Size        int64
	SHA256      string
	ContentType string
	// Skipped: a verified object was already at the key; Body was not
	// read.
	Skipped bool
}

// Copy streams in.Body to in.Key, or keeps a verified object already there
// (Result.Skipped). It fails with ErrTruncated, ErrSizeMismatch or
// ErrChecksumMismatch when the body is not what was expected; on any
// failure nothing is left at the final key that was not there before, and
// no multipart upload is left open.
func (c *Copier) Copy(ctx context.Context, in Input) (Result, error) {
	if in.Bucket == "" || in.Key == "" || in.Body == nil {
		return Result{}, fmt.Errorf("copy %q to bucket %q: bucket, key and body are required", in.Key, in.Bucket)
	}
	want, err := expectedSize(in)
	if err != nil {
		return Result{}, fmt.Errorf("copy %s: %w", in.Key, err)
	}
	if in.ContentType == "" {
		in.ContentType = DefaultContentType
	}
	if res, ok, err := c.Lookup(ctx, in); err != nil || ok {
		if err != nil {
			return Result{}, fmt.Errorf("copy %s: %w", in.Key, err)
		}
		return res, nil
	}

	staging := c.stagingPrefix + in.Key
	body := newReadAhead(in.Body, want)
	up := &transfermanager.UploadObjectInput{
		Bucket:      aws.String(in.Bucket),
		Key:         aws.String(staging),
		Body:        body,
		ContentType: aws.String(in.ContentType),
		Metadata:    metadata(in, ""),
	}
	if want > 0 {
		// Lets the transfer manager size parts for huge objects and
		// S3 check the total at completion.
		up.ContentLength = aws.Int64(want)
	}
	_, err = c.tm.UploadObject(ctx, up)
	if err == nil && body.err == nil {
		// The transfer manager stopped at the expected length without
		// reading the end: the body must end there too.
		if extra, derr := io.Copy(io.Discard, body); extra > 0 || derr != nil {
			body.Close()
			c.deleteStaging(ctx, in.Bucket, staging)
			return Result{}, fmt.Errorf("copy %s: after the upload: %w", in.Key, errors.Join(derr, fmt.Errorf("%d more bytes: %w", extra, ErrSizeMismatch)))
		}
	}
	body.Close()
	if err != nil {
		c.abortUpload(ctx, in.Bucket, staging, err)
		if berr := body.bodyErr(); berr != nil {
			// The body's own failure is the cause; the transfer
			// manager's wrapping only adds the upload id.
			return Result{}, fmt.Errorf("copy %s: %w", in.Key, berr)
		}
		return Result{}, fmt.Errorf("copy %s: upload: %w", in.Key, err)
	}
	size, sum := body.result()
	if in.ExpectSHA256 != "" && !strings.EqualFold(sum, in.ExpectSHA256) {
		c.deleteStaging(ctx, in.Bucket, staging)
		return Result{}, fmt.Errorf("copy %s: got sha256 %s, want %s: %w", in.Key, sum, in.ExpectSHA256, ErrChecksumMismatch)
	}
	if err := c.promote(ctx, in, staging, size, sum); err != nil {
		c.deleteStaging(ctx, in.Bucket, staging)
		return Result{}, fmt.Errorf("copy %s: promote from %s: %w", in.Key, staging, err)
	}
	c.deleteStaging(ctx, in.Bucket, staging)
	return Result{Bucket: in.Bucket, Key: in.Key, Size: size, SHA256: sum, ContentType: in.ContentType}, nil
}

// Lookup reports whether a verified copy of in is already at in.Key: an
// object with sha256 metadata whose size and sha256 match the expected
// ones where those are known. Only the copier writes sha256 metadata, and
// only after checking the bytes, so such an object is intact. A caller can
// use Lookup to skip fetching the body at all; Copy calls it too.
//
// An object Lookup cannot read (for a reason other than ctx) counts as
// absent: overwriting it is always safe, merely slower.
func (c *Copier) Lookup(ctx context.Context, in Input) (Result, bool, error) {
	want, err := expectedSize(in)
	if err != nil {
		return Result{}, false, fmt.Errorf("look up %s: %w", in.Key, err)
	}
	out, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(in.Bucket), Key: aws.String(in.Key)})
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, false, fmt.Errorf("look up %s: %w", in.Key, ctx.Err())
		}
		return Result{}, false, nil
	}
	sum := out.Metadata[MetaSHA256]
	size := aws.ToInt64(out.ContentLength)
	if sum == "" ||
		(in.ExpectSHA256 != "" && !strings.EqualFold(sum, in.ExpectSHA256)) ||
		(want >= 0 && size != want) {
		return Result{}, false, nil
	}
	return Result{
		Bucket: in.Bucket, Key: in.Key, Size: size, SHA256: sum,
		ContentType: aws.ToString(out.ContentType), Skipped: true,
	}, true, nil
}

// expectedSize is the length the body must have, or -1 when unknown.
func expectedSize(in Input) (int64, error) {
	switch {
	case in.ContentLength >= 0 && in.AssetBytes > 0 && in.ContentLength != in.AssetBytes:
		return 0, fmt.Errorf("content-length %d but asset.bytes %d: %w", in.ContentLength, in.AssetBytes, ErrSizeMismatch)
	case in.ContentLength >= 0:
		return in.ContentLength, nil
	case in.AssetBytes > 0:
		return in.AssetBytes, nil
	}
	return -1, nil
}

func metadata(in Input, sum string) map[string]string {
	m := map[string]string{MetaJobID: in.JobID, MetaProviderJobID: in.ProviderJobID, MetaModel: in.Model}
	if sum != "" {
		m[MetaSHA256] = sum
	}
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}

// promote copies the verified staging object to the final key with its
// full metadata.
func (c *Copier) promote(ctx context.Context, in Input, staging string, size int64, sum string) error {
	source := copySource(in.Bucket, staging)
	if size <= c.copyThreshold {
		_, err := c.s3.CopyObject(ctx, &s3.CopyObjectInput{
			Bucket:            aws.String(in.Bucket),
			Key:               aws.String(in.Key),
			CopySource:        aws.String(source),
			MetadataDirective: types.MetadataDirectiveReplace,
			Metadata:          metadata(in, sum),
			ContentType:       aws.String(in.ContentType),
		})
		return err
	}
	return c.copyParts(ctx, in, source, size, sum)
}

// copyParts copies an object too large for CopyObject with a multipart
// upload of UploadPartCopy ranges, aborting it on failure.
func (c *Copier) copyParts(ctx context.Context, in Input, source string, size int64, sum string) error {
	created, err := c.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:      aws.String(in.Bucket),
		Key:         aws.String(in.Key),
		Metadata:    metadata(in, sum),
		ContentType: aws.String(in.ContentType),
	})
	if err != nil {
		return err
	}
	partSize := max(c.copyPartSize, (size+9999)/10000) // S3 allows 10,000 parts
	n := int((size + partSize - 1) / partSize)
	parts := make([]types.CompletedPart, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, c.concurrency)
	for i := range n {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			first := int64(i) * partSize
			last := min(first+partSize, size) - 1
			out, err := c.s3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
				Bucket:          aws.String(in.Bucket),
				Key:             aws.String(in.Key),
				UploadId:        created.UploadId,
				PartNumber:      aws.Int32(int32(i + 1)),
				CopySource:      aws.String(source),
				CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", first, last)),
			})
			if err == nil {
				parts[i] = types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.CopyPartResult.ETag}
			}
			errs <- err
		}()
	}
	for range n {
		err = errors.Join(err, <-errs)
	}
	if err == nil {
		_, err = c.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket:          aws.String(in.Bucket),
			Key:             aws.String(in.Key),
			UploadId:        created.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		})
	}
	if err != nil {
		actx, cancel := cleanupContext(ctx)
		defer cancel()
		_, _ = c.s3.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
			Bucket: aws.String(in.Bucket), Key: aws.String(in.Key), UploadId: created.UploadId,
		})
		return err
	}
	return nil
}

// abortUpload makes sure a failed upload's multipart upload is gone. The
// transfer manager aborts it itself, but reports a failed abort only inside
// an error string; aborting again is harmless (S3 answers NoSuchUpload) and
// the bucket's lifecycle rule is the last resort.
func (c *Copier) abortUpload(ctx context.Context, bucket, key string, err error) {
	var mpu transfermanager.MultipartUploadError
	if !errors.As(err, &mpu) || mpu.UploadID() == "" {
		return
	}
	actx, cancel := cleanupContext(ctx)
	defer cancel()
	_, _ = c.s3.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(mpu.UploadID()),
	})
}

// deleteStaging removes the staging object. A failure is not the copy's
// failure: the lifecycle rule expires staging objects.
func (c *Copier) deleteStaging(ctx context.Context, bucket, key string) {
	dctx, cancel := cleanupContext(ctx)
	defer cancel()
	_, _ = c.s3.DeleteObject(dctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
}

// cleanupContext outlives ctx's cancellation, so cleanup still runs when
// the copy failed because ctx ended, but is bounded.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
}

// copySource is the URL-encoded bucket/key CopyObject expects.
func copySource(bucket, key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return bucket + "/" + strings.Join(segs, "/")
}

// readAhead is the body the transfer manager reads. Two goroutines of its
// own run ahead of it: one reads the stream into chunks, counting bytes and
// turning a body shorter or longer than expected into an error; the other
// hashes the chunks in order. Read only copies hashed chunks into the
// transfer manager's part buffers. So reading the stream, hashing it
// (SHA-256 is serial and the slowest stage) and filling and sending parts
// overlap on separate cores instead of running one after another on the
// transfer manager's one reading goroutine. Memory: chunkCount chunks of
// chunkSize, reused for the whole copy.
//
// The first error (from the stream, or a length check) reaches Read after
// every byte before it, and sticks; the transfer manager then aborts the
// upload. Close stops both goroutines and must be called once the
// transfer manager is done with the body.
type readAhead struct {
	hashed chan *chunk // in stream order; closed after the last chunk
	free   chan *chunk
	done   chan struct{}

	cur *chunk
	off int
	err error // sticky, once Read saw it

	// Set by the goroutines before they pass on the last chunk, so final
	// once Read has returned io.EOF.
	n   int64
	sum [sha256.Size]byte
}

const (
	chunkSize  = 1 << 20
	chunkCount = 4
)

type chunk struct {
	buf []byte
	n   int
	err error // the stream's end (io.EOF) or failure after buf[:n]
}

func newReadAhead(body io.Reader, want int64) *readAhead {
	ra := &readAhead{
		hashed: make(chan *chunk, chunkCount),
		free:   make(chan *chunk, chunkCount),
		done:   make(chan struct{}),
	}
	for range chunkCount {
		ra.free <- &chunk{buf: make([]byte, chunkSize)}
	}
	read := make(chan *chunk, chunkCount)
	go ra.readStream(body, want, read)
	go ra.hash(read)
	return ra
}

// readStream fills free chunks from body, in order, until the stream ends
// or fails, then closes out.
func (ra *readAhead) readStream(body io.Reader, want int64, out chan<- *chunk) {
	defer close(out)
	var n int64
	for {
		var c *chunk
		select {
		case c = <-ra.free:
		case <-ra.done:
			return
		}
		c.n, c.err = fillChunk(body, c.buf)
		n += int64(c.n)
		switch {
		case want >= 0 && n > want:
			c.n -= int(n - want)
			n = want
			c.err = fmt.Errorf("body longer than the expected %d bytes: %w", want, ErrSizeMismatch)
		case c.err == io.EOF && want >= 0 && n < want:
			c.err = fmt.Errorf("body ended after %d of %d bytes: %w", n, want, ErrTruncated)
		case c.err != nil && c.err != io.EOF:
			c.err = fmt.Errorf("read body after %d bytes: %w: %w", n, ErrTruncated, c.err)
		}
		if c.err != nil {
			ra.n = n
		}
		select {
		case out <- c:
		case <-ra.done:
			return
		}
		if c.err != nil {
			return
		}
	}
}

// fillChunk reads into buf until it is full or the stream ends or fails.
func fillChunk(body io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := body.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// hash feeds the chunks to SHA-256 in order and passes them on.
func (ra *readAhead) hash(in <-chan *chunk) {
	defer close(ra.hashed)
	h := sha256.New()
	for c := range in {
		h.Write(c.buf[:c.n])
		if c.err == io.EOF {
			h.Sum(ra.sum[:0])
		}
		select {
		case ra.hashed <- c:
		case <-ra.done:
			return
		}
	}
}

func (ra *readAhead) Read(p []byte) (int, error) {
	select {
	case <-ra.done:
		return 0, errors.New("copier: body read after close")
	default:
	}
	for {
		if ra.cur == nil {
			if ra.err != nil {
				return 0, ra.err
			}
			c, ok := <-ra.hashed
			if !ok {
				// Unreachable: the last chunk carries an error.
				return 0, errors.New("copier: body ended without a status")
			}
			ra.cur, ra.off = c, 0
		}
		c := ra.cur
		if ra.off < c.n {
			n := copy(p, c.buf[ra.off:c.n])
			ra.off += n
			return n, nil
		}
		ra.cur = nil
		err := c.err
		ra.free <- c
		if err != nil {
			ra.err = err
			return 0, err
		}
	}
}

// Close stops the goroutines; Read fails from then on. It does not wait: a
// goroutine blocked reading a stalled stream ends when the caller closes
// the body (Copy does not own it), and touches nothing shared meanwhile.
func (ra *readAhead) Close() { close(ra.done) }

// result is the size and hex sha256 of a body read to io.EOF.
func (ra *readAhead) result() (int64, string) { return ra.n, hex.EncodeToString(ra.sum[:]) }

// bodyErr is the error Read returned, other than io.EOF: the body's own
// failure, which is the cause of a failed upload.
func (ra *readAhead) bodyErr() error {
	if ra.err == io.EOF {
		return nil
	}
	return ra.err
}
