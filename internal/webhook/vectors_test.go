package webhook

// The known-answer vectors of provider-contract.md §10, copied byte for byte;
// TestVectorBodiesAreExact proves the copy by the sha256 given there.
type vector struct {
	name      string
	secret    string
	timestamp string // the header value, exactly as sent
	now       int64  // a clock within tolerance of timestamp
	body      string
	bodySHA   string
	signature string
}

var vectors = []vector{
	{
		name:      "V1 plain secret, seconds timestamp",
		secret:    "test_secret_123",
		timestamp: "1781712000",
		now:       1781712000,
		body:      `{"id":"evt_video_G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F_video_completed","type":"video.completed","created_at":1781712000,"delivery":{"key":"video.completed","attempt":1,"max_attempts":4},"data":{"id":"G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F","object":"video","status":"completed","lifecycle_status":"completed"}}`,
		bodySHA:   "a37935db667d3032db2901dc54a0d43ac047e1e6061b6af7582690a81e3caf2f",
		signature: "73567d569fcc3e9f84e31ef2feb2ed7358ce366b9cc532a0d09ca3966dec40b5",
	},
	{
		name:      "V2 whsec_ secret used verbatim",
		secret:    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		timestamp: "1781712060",
		now:       1781712060,
		body:      `{"id":"evt_video_G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F_video_progress_50","type":"video.progress","created_at":1781712060,"delivery":{"key":"video.progress:50","attempt":2,"max_attempts":4},"data":{"id":"G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F","status":"processing","progress":50}}`,
		bodySHA:   "38dfa626517d19d5173ca39219a87354c844f4da2f34070502e693b9467caa02",
		signature: "bb9adeca060915c402042534e33551110473e8ee14296d4809c8da29cb7b2998",
	},
	{
		name:      "V3 non-ASCII UTF-8 body",
		secret:    "test_secret_123",
		timestamp: "1781712120",
		now:       1781712120,
		body:      `{"id":"evt_video_G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F_video_failed","type":"video.failed","data":{"status":"failed","upstream_error":{"message":"Contenu refusé — 内容被拒绝 ✗"}}}`,
		bodySHA:   "376dd4e05711c78fd9e0c292838bf36dac672766d24ae2223e501b731809135a",
		signature: "7f63ada85f93e1c391a7368553722265b5bc063beba4b8adc2f097dcdce1fc74",
	},
	{
		name:      "V4 millisecond timestamp",
		secret:    "test_secret_123",
		timestamp: "1781712000123",
		now:       1781712000,
		body:      `{"id":"evt_video_G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F_video_created","type":"video.created"}`,
		bodySHA:   "7205bce58c46d7de6551ebd41adb4a0249ba55554243eeacc98fa4b24326ef25",
		signature: "2f236140cad439e22b22c6d50bc813cce8e6ecc8d85e217f7c4ed19bf420cc23",
	},
	{
		name:      "V5 empty-object body",
		secret:    "s3cr3t",
		timestamp: "1781712000",
		now:       1781712000,
		body:      `{}`,
		bodySHA:   "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
		signature: "b5e081c455223641f2e0faf2a202fb9991b8b93265724241d88ecb43011b3e0a",
	},
}
