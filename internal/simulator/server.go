package simulator

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	defaultWorkers = 16
	// workQueue buffers due deliveries between the scheduler and the
	// workers, so a burst (200 jobs finishing in one sweep) is handed over
	// without a goroutine switch per delivery.
	workQueue = 4096
)

// Server is the simulated gateway: an http.Handler for the /v1 routes and
// the /_sim inspection routes, plus the background sweep and the webhook
// delivery engine. Create it with New and stop it with Close.
type Server struct {
	cfg     Config
	scale   float64
	apiKey  string
	signKey []byte
	client  *http.Client
	log     *slog.Logger
	mux     *http.ServeMux

	// Lock order: mu before a job's mu; recMu and stMu are leaves.
	mu       sync.Mutex // guards jobs, order, creates, shaCache
	jobs     map[string]*job
	order    []*job
	creates  int
	shaCache map[string]string

	stMu sync.Mutex // serialises settings writers
	st   atomic.Pointer[Settings]

	recMu      sync.Mutex // guards requests, deliveries and their counters
	requests   []Request
	deliveries []Delivery
	nReq, nDel int
	idSeq      atomic.Int64

	schedMu  sync.Mutex
	tasks    taskHeap
	taskSeq  uint64
	inFlight int // popped from tasks, not yet finished; guarded by schedMu
	kick     chan struct{}
	work     chan *delivery

	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// New starts a simulator: its sweep and delivery workers run until Close.
func New(cfg Config) *Server {
	s := &Server{
		cfg:      cfg,
		scale:    cfg.TimeScale,
		apiKey:   cfg.APIKey,
		client:   cfg.HTTPClient,
		log:      cfg.Logger,
		jobs:     map[string]*job{},
		shaCache: map[string]string{},
		kick:     make(chan struct{}, 1),
		work:     make(chan *delivery, workQueue),
		done:     make(chan struct{}),
	}
	st := cfg.Settings
	s.st.Store(&st)
	if s.scale <= 0 {
		s.scale = 1
	}
	if s.apiKey == "" {
		s.apiKey = DefaultAPIKey
	}
	if s.client == nil {
		workers := cfg.DeliveryWorkers
		if workers <= 0 {
			workers = defaultWorkers
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		// Keep one idle connection per worker: most deliveries go to one
		// receiver, and the default of 2 would churn connections.
		t.MaxIdleConnsPerHost = workers
		s.client = &http.Client{
			Transport: t,
			// Redirect handling is unspecified by the gateway; don't follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.cfg.Variant == "" {
		s.cfg.Variant = VariantAIStats
	}
	if s.cfg.WebhookTimeout <= 0 {
		s.cfg.WebhookTimeout = 30 * time.Second
	}
	if s.cfg.RetryDelays == nil {
		s.cfg.RetryDelays = []time.Duration{60 * time.Second, 300 * time.Second, 900 * time.Second}
	}
	if s.cfg.HangFor <= 0 {
		s.cfg.HangFor = 35 * time.Second
	}
	if s.cfg.SlowFirstByte <= 0 {
		s.cfg.SlowFirstByte = 2 * time.Second
	}
	if s.cfg.ThrottleBytesPerSecond <= 0 {
		s.cfg.ThrottleBytesPerSecond = 256 << 10
	}
	if s.cfg.WebhookDelayMax <= 0 {
		s.cfg.WebhookDelayMax = 120 * time.Second
	}
	if s.cfg.Sweep == 0 {
		s.cfg.Sweep = 5 * time.Minute
	}
	if s.cfg.MaxRecords <= 0 {
		s.cfg.MaxRecords = 100_000
	}
	if s.cfg.DeliveryWorkers <= 0 {
		s.cfg.DeliveryWorkers = defaultWorkers
	}
	k := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("simulator/download-signing/"), uint64(cfg.Seed)))
	s.signKey = k[:]
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mux = s.routes()

	s.wg.Add(1 + s.cfg.DeliveryWorkers)
	go s.schedulerLoop()
	for range s.cfg.DeliveryWorkers {
		go s.worker()
	}
	return s
}

// Close stops the sweep, the delivery workers and any request held by a
// hang fault, and waits for them. Deliveries still scheduled are abandoned.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.cancel()
	})
	s.wg.Wait()
	s.client.CloseIdleConnections()
	return nil
}

// now reads the injected clock.
func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// scaled converts a simulated duration into clock time.
func (s *Server) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.scale)
}

// Configure replaces the run-time settings (faults, outcomes, rules, shapes,
// the feature switch).
func (s *Server) Configure(st Settings) error {
	if err := st.Validate(); err != nil {
		return err
	}
	s.stMu.Lock()
	s.st.Store(&st)
	s.stMu.Unlock()
	return nil
}

// Settings returns the current run-time settings.
func (s *Server) Settings() Settings {
	return *s.st.Load()
}

// SetDisabled flips the global feature switch (every /v1 route 501).
func (s *Server) SetDisabled(off bool) {
	s.stMu.Lock()
	st := *s.st.Load()
	st.Disabled = off
	s.st.Store(&st)
	s.stMu.Unlock()
}

// Sweep runs one background reconciliation pass now: every open job is
// status-checked, which may finalise it and fire its webhooks.
func (s *Server) Sweep() {
	now := s.now()
	null := s.Settings().NullProgress
	s.mu.Lock()
	jobs := slices.Clone(s.order)
	s.mu.Unlock()
	for _, j := range jobs {
		j.mu.Lock()
		var evs []event
		if !j.deleted && !terminal(j.status) {
			evs = j.check(now, s.phaseo(), null)
		}
		j.mu.Unlock()
		s.fire(j, evs)
	}
}

func (s *Server) phaseo() bool { return s.cfg.Variant == VariantPhaseo }

// task is a delivery attempt due at a clock time.
type task struct {
	due time.Time
	seq uint64
	d   *delivery
}

type taskHeap []*task

func (h taskHeap) Len() int { return len(h) }
func (h taskHeap) Less(i, j int) bool {
	if h[i].due.Equal(h[j].due) {
		return h[i].seq < h[j].seq
	}
	return h[i].due.Before(h[j].due)
}
func (h taskHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *taskHeap) Push(x any)   { *h = append(*h, x.(*task)) }
func (h *taskHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// schedule queues a delivery attempt for a clock time. One due now goes
// straight to the workers when the queue has room.
func (s *Server) schedule(d *delivery, due time.Time) {
	s.schedMu.Lock()
	if !due.After(s.now()) {
		select {
		case s.work <- d:
			s.inFlight++
			s.schedMu.Unlock()
			return
		default:
		}
	}
	s.taskSeq++
	heap.Push(&s.tasks, &task{due: due, seq: s.taskSeq, d: d})
	s.schedMu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Pending returns the number of webhook delivery attempts scheduled or in
// flight (retries waiting for their time included).
func (s *Server) Pending() int {
	s.schedMu.Lock()
	defer s.schedMu.Unlock()
	return len(s.tasks) + s.inFlight
}

// Settled reports whether no delivery attempt is due or in flight at the
// current clock time; later retries may still be scheduled.
func (s *Server) Settled() bool {
	now := s.now()
	s.schedMu.Lock()
	defer s.schedMu.Unlock()
	return s.inFlight == 0 && (len(s.tasks) == 0 || s.tasks[0].due.After(now))
}

// schedulerLoop hands due deliveries to the workers and runs the sweep. With
// an injected clock it re-reads the clock at least every 10 ms, since a fake
// clock can jump without waking a timer.
func (s *Server) schedulerLoop() {
	defer s.wg.Done()
	idle := time.Minute
	if s.cfg.Now != nil {
		idle = 10 * time.Millisecond
	}
	sweepEvery := s.scaled(s.cfg.Sweep)
	sweepOn := s.cfg.Sweep > 0
	if sweepOn && sweepEvery < time.Millisecond {
		sweepEvery = time.Millisecond
	}
	nextSweep := s.now().Add(sweepEvery)
	timer := time.NewTimer(idle)
	defer timer.Stop()
	for {
		now := s.now()
		if sweepOn && !now.Before(nextSweep) {
			s.Sweep()
			nextSweep = now.Add(sweepEvery)
		}
		var due []*delivery
		wait := idle
		s.schedMu.Lock()
		for len(s.tasks) > 0 && !s.tasks[0].due.After(now) {
			due = append(due, heap.Pop(&s.tasks).(*task).d)
			s.inFlight++
		}
		if len(s.tasks) > 0 {
			wait = min(wait, s.tasks[0].due.Sub(now))
		}
		s.schedMu.Unlock()
		if sweepOn {
			wait = min(wait, nextSweep.Sub(now))
		}
		for _, d := range due {
			select {
			case s.work <- d:
			case <-s.done:
				return
			}
		}
		if len(due) > 0 {
			continue
		}
		timer.Reset(max(wait, 0))
		select {
		case <-timer.C:
		case <-s.kick:
			// Since Go 1.23 a stopped timer's channel holds no stale value.
			timer.Stop()
		case <-s.done:
			return
		}
	}
}

func (s *Server) worker() {
	defer s.wg.Done()
	for {
		select {
		case d := <-s.work:
			s.deliver(d)
			s.schedMu.Lock()
			s.inFlight--
			s.schedMu.Unlock()
		case <-s.done:
			return
		}
	}
}

// sleep waits for d (real time), the request's end or Close. It reports
// whether the full time passed.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// Request is one inbound request as the simulator saw it.
type Request struct {
	Seq    int       `json:"seq"`
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Query  string    `json:"query,omitempty"`
	// Status is the HTTP status sent; 0 when the connection was cut.
	Status int    `json:"status"`
	Error  string `json:"error,omitempty"`
	Reason string `json:"reason,omitempty"`
	JobID  string `json:"job_id,omitempty"`
	Fault  string `json:"fault,omitempty"`
	// Signed marks content fetched through a signed URL.
	Signed bool `json:"signed,omitempty"`
	// IdempotencyKey records the ignored Idempotency-Key header.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

type noteKey struct{}

func note(r *http.Request) *Request {
	if n, ok := r.Context().Value(noteKey{}).(*Request); ok {
		return n
	}
	return &Request{}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// ServeHTTP records the request, then serves /_sim inspection routes as is
// and /v1 routes behind the feature switch and Bearer auth.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.mux.ServeHTTP(w, r)
		return
	}
	n := &Request{
		Time: s.now(), Method: r.Method, Path: r.URL.Path, Query: redactQuery(r.URL.RawQuery),
		IdempotencyKey: r.Header.Get("Idempotency-Key"),
	}
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		n.Status = sw.status
		s.recMu.Lock()
		s.nReq++
		n.Seq = s.nReq
		s.requests = appendCapped(s.requests, *n, s.cfg.MaxRecords)
		s.recMu.Unlock()
	}()
	r = r.WithContext(context.WithValue(r.Context(), noteKey{}, n))

	if s.Settings().Disabled {
		s.writeError(sw, r, http.StatusNotImplemented, "not_implemented_yet", "video_api_temporarily_disabled",
			"The video API is temporarily disabled.", nil)
		return
	}
	signed := r.Method == http.MethodGet && r.URL.Query().Has("download_sig") && strings.HasSuffix(r.URL.Path, "/content")
	if !signed {
		if reason := s.authorise(r); reason != "" {
			s.writeError(sw, r, http.StatusUnauthorized, "unauthorised", reason, "Authentication failed.", nil)
			return
		}
	}
	s.mux.ServeHTTP(sw, r)
}

// appendCapped appends, first dropping the older half when the log is full,
// so a long-running simulator keeps bounded memory.
func appendCapped[T any](log []T, v T, limit int) []T {
	if len(log) >= limit {
		log = append(log[:0:0], log[len(log)/2:]...)
	}
	return append(log, v)
}

// redactQuery drops the signed-URL signature from recorded queries.
func redactQuery(q string) string {
	if !strings.Contains(q, "download_sig") {
		return q
	}
	parts := strings.Split(q, "&")
	for i, p := range parts {
		if strings.HasPrefix(p, "download_sig=") {
			parts[i] = "download_sig=REDACTED"
		}
	}
	return strings.Join(parts, "&")
}

// authorise returns "" for the accepted key, else the 401 reason.
func (s *Server) authorise(r *http.Request) string {
	h := r.Header.Get("Authorization")
	scheme, key, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		return "missing_or_invalid_authorization_header"
	}
	key = strings.TrimSpace(key)
	kid, secret, ok := splitKey(key)
	if !ok {
		return "invalid_key_format"
	}
	for _, k := range s.cfg.ExpiredKeys {
		if k == key {
			return "key_expired"
		}
	}
	wantKid, wantSecret, _ := splitKey(s.apiKey)
	if kid != wantKid {
		return "key_not_found_or_revoked"
	}
	if secret != wantSecret {
		return "invalid_secret"
	}
	return ""
}

// splitKey parses aistats_v1_sk_<kid>_<secret>; the kid has no underscore.
func splitKey(key string) (kid, secret string, ok bool) {
	rest, found := strings.CutPrefix(key, "aistats_v1_sk_")
	if !found {
		return "", "", false
	}
	kid, secret, found = strings.Cut(rest, "_")
	if !found || kid == "" || secret == "" || !alnum(kid) {
		return "", "", false
	}
	return kid, secret, true
}

func alnum(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	for _, p := range []string{"/v1/videos", "/v1/video/generations"} {
		m.HandleFunc("POST "+p, s.handleCreate)
		m.HandleFunc("GET "+p, s.handleList)
		m.HandleFunc("GET "+p+"/models", s.handleModels)
		m.HandleFunc("GET "+p+"/{id}", s.handleGet)
		m.HandleFunc("DELETE "+p+"/{id}", s.handleDelete)
		m.HandleFunc("GET "+p+"/{id}/content", s.handleContent)
		m.HandleFunc("POST "+p+"/{id}/download_url", s.handleDownloadURL)
		m.HandleFunc("POST "+p+"/{id}/cancel", s.handleCancel)
	}
	m.HandleFunc("GET /v1/async/video/{id}/ws", s.handleWebSocket)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, http.StatusNotFound, "not_found", "route_not_found", "No such route.", nil)
	})
	s.inspectRoutes(m)
	return m
}

// lookup finds the job named in the path or answers 404. It takes s.mu
// itself, so callers must not hold it.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*job, bool) {
	id := r.PathValue("id")
	note(r).JobID = id
	s.mu.Lock()
	j := s.jobs[id]
	s.mu.Unlock()
	deleted := false
	if j != nil {
		j.mu.Lock()
		deleted = j.deleted
		j.mu.Unlock()
	}
	if j == nil {
		s.writeError(w, r, http.StatusNotFound, "not_found", "video_not_found_or_not_owned",
			fmt.Sprintf("Video %s was not found.", id), map[string]any{"video_id": id})
		return nil, false
	}
	if deleted {
		s.writeError(w, r, http.StatusNotFound, "not_found", "video_deleted",
			fmt.Sprintf("Video %s was deleted.", id), map[string]any{"video_id": id})
		return nil, false
	}
	return j, true
}
