package aistats

import (
	"context"
	"fmt"
)

// reconcileListLimit is the list page the contract's reconciliation recipe
// searches (§3.3): the 50 newest jobs.
const reconcileListLimit = 50

// FindByWebhookURL finds the job an ambiguous create may have made, by the
// exact webhook URL the caller put its own intent id into (§3.3). It
// searches the 50 newest jobs and ignores tombstones. None is ErrNotFound
// (re-check for about a minute before resubmitting once); several is a
// *MultipleMatchesError (escalate).
func (c *Client) FindByWebhookURL(ctx context.Context, webhookURL string) (*Video, error) {
	if webhookURL == "" {
		return nil, fmt.Errorf("find video by webhook url: %w", &ValidationError{Field: "url", Problem: "required"})
	}
	l, err := c.List(ctx, ListOptions{Limit: reconcileListLimit})
	if err != nil {
		return nil, fmt.Errorf("find video by webhook url: %w", err)
	}
	var found []Video
	for _, v := range l.Data {
		if v.Deleted || v.Webhook == nil || v.Webhook.URL != webhookURL {
			continue
		}
		found = append(found, v)
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("find video by webhook url: %w", ErrNotFound)
	case 1:
		return &found[0], nil
	}
	ids := make([]string, len(found))
	for i, v := range found {
		ids[i] = v.ID
	}
	return nil, fmt.Errorf("find video by webhook url: %w", &MultipleMatchesError{IDs: ids})
}
