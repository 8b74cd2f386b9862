package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestVectorBodiesAreExact(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			sum := sha256.Sum256([]byte(v.body))
			if got := hex.EncodeToString(sum[:]); got != v.bodySHA {
				t.Errorf("body sha256 = %s, want %s (the copy of the contract body is not exact)", got, v.bodySHA)
			}
		})
	}
}

func TestSignKnownAnswers(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			if got := Sign(v.secret, v.timestamp, []byte(v.body)); got != v.signature {
				t.Errorf("Sign = %s, want %s", got, v.signature)
			}
		})
	}
	// The contract's negatives: what a verifier that strips "whsec_" or
	// signs the seconds instead of the header string would compute.
	negatives := []struct {
		name, secret, timestamp, body, want string
	}{
		{"V2 with whsec_ stripped", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", vectors[1].timestamp, vectors[1].body,
			"96d54e6708cad38f5a560ea7e83d2162abc401fa4b1251b9208536ca2107319d"},
		{"V4 signed over seconds", vectors[3].secret, "1781712000", vectors[3].body,
			"e3b8d9d770d489d5d9ac7b143f394e1651be7594d3b4110bf522b1276de43449"},
	}
	for _, n := range negatives {
		t.Run(n.name, func(t *testing.T) {
			if got := Sign(n.secret, n.timestamp, []byte(n.body)); got != n.want {
				t.Errorf("Sign = %s, want %s", got, n.want)
			}
		})
	}
}

func TestDeriveSecret(t *testing.T) {
	master := []byte("master-secret-v1")
	const job = "vj_01jz8q3v4x5y6z7a8b9c0d1e2f"
	// Known answer from Python: hmac.new(master, b"videojobs/webhook/v1/"+job, sha256).hexdigest()
	if got, want := DeriveSecret(master, job), "747b0294b8361ed5cfb2beac214a82800d261f95cbad84b5735372dc23f51ef9"; got != want {
		t.Errorf("DeriveSecret = %s, want %s", got, want)
	}
	if DeriveSecret(master, job) == DeriveSecret(master, job+"x") {
		t.Error("two jobs share a secret: a leaked secret would forge deliveries for both")
	}
	if DeriveSecret(master, job) == DeriveSecret([]byte("master-secret-v2"), job) {
		t.Error("rotating the master secret left the job secret unchanged")
	}
}
