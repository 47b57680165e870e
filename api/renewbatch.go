package api

// MaxRenewBatch is the most entries one POST /v1/renew-batch may carry.
const MaxRenewBatch = 64

// RenewBatchRequest is the body of POST /v1/renew-batch: one entry per
// identity of the caller's host to renew, over one mTLS connection
// authenticated by the host identity.
type RenewBatchRequest struct {
	Renewals []RenewBatchEntry `json:"renewals"`
}

// RenewBatchEntry is one identity to renew: the decimal serial of its
// current certificate, and a PEM certificate request signed by that
// certificate's key (proof of possession; its names are ignored).
type RenewBatchEntry struct {
	CSR    string `json:"csr"`
	Serial string `json:"serial"`
}

// RenewBatchResponse is the answer to POST /v1/renew-batch (200 when the
// request is well formed): one result per entry, in request order.
type RenewBatchResponse struct {
	Results []RenewBatchResult `json:"results"`
}

// RenewBatchResult is one entry's outcome: the renewed certificate (Crt)
// and its issuing CA, or the error, hint and HTTP status the single
// renewal (POST /1.0/renew) would have answered. Identity is the SPIFFE ID
// renewed; it is empty when the serial names no identity of the caller's
// host.
type RenewBatchResult struct {
	Identity string `json:"identity"`
	Crt      string `json:"crt,omitempty"`
	CA       string `json:"ca,omitempty"`
	Error    string `json:"error,omitempty"`
	Hint     string `json:"hint,omitempty"`
	Status   int    `json:"status,omitempty"`
}
