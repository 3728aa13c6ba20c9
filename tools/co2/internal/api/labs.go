package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Lab is a lab as the API shows it.
type Lab struct {
	ID          string `json:"id,omitempty"`
	Code        string `json:"code"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	ParentID    string `json:"parentId,omitempty"`
	Country     string `json:"country"`
	CreatedAt   string `json:"createdAt,omitempty"`
	UpdatedAt   string `json:"updatedAt,omitempty"`
	ArchivedAt  string `json:"archivedAt,omitempty"`
}

// LabFilter narrows a list of labs.
type LabFilter struct {
	ParentID        string
	NameContains    string
	IncludeArchived bool
}

// maxLabPage is the API's largest page.
const maxLabPage = 500

// ListLabs returns at most limit labs the caller can see, following pages.
func (c *Client) ListLabs(ctx context.Context, filter LabFilter, limit int) ([]Lab, error) {
	var labs []Lab
	token := ""
	for {
		query := url.Values{"page_size": {strconv.Itoa(min(maxLabPage, max(1, limit-len(labs))))}}
		if filter.ParentID != "" {
			query.Set("parent_id", filter.ParentID)
		}
		if filter.NameContains != "" {
			query.Set("name_contains", filter.NameContains)
		}
		if filter.IncludeArchived {
			query.Set("include_archived", "true")
		}
		if token != "" {
			query.Set("page_token", token)
		}
		var page struct {
			Labs          []Lab  `json:"labs"`
			NextPageToken string `json:"nextPageToken"`
		}
		if err := c.getJSON(ctx, request{path: "/labs", query: query}, &page); err != nil {
			return nil, err
		}
		labs = append(labs, page.Labs...)
		token = page.NextPageToken
		if token == "" || len(labs) >= limit {
			return labs[:min(len(labs), limit)], nil
		}
	}
}

// GetLab reads one lab.
func (c *Client) GetLab(ctx context.Context, id string) (Lab, error) {
	var lab Lab
	err := c.getJSON(ctx, request{path: "/labs/" + url.PathEscape(id), notFound: noLab(id)}, &lab)
	return lab, err
}

// CreateLab registers a lab.
func (c *Client) CreateLab(ctx context.Context, lab Lab) (Lab, error) {
	body, err := jsonBody(lab)
	if err != nil {
		return Lab{}, err
	}
	var created Lab
	err = c.getJSON(ctx, request{method: http.MethodPost, path: "/labs", body: body, contentType: "application/json",
		notFound: "no parent lab " + lab.ParentID + " you can see"}, &created)
	return created, err
}

func noLab(id string) string { return "no lab " + id + " you can see (co2 labs list shows yours)" }
