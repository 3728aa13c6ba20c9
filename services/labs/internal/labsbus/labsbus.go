// Package labsbus holds the rules of the lab register: what a valid lab is,
// the hierarchy without cycles, archiving, and paging through labs.
package labsbus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/pagetoken"
)

// Lab is a research lab as stored.
type Lab struct {
	ID          uuid.UUID  `json:"id"`
	Code        string     `json:"code"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	ParentID    *uuid.UUID `json:"parent_id"`
	Country     string     `json:"country"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ArchivedAt  *time.Time `json:"archived_at"`
	// PurgingAt is set while the lab is being purged (ADR 020).
	PurgingAt *time.Time `json:"purging_at,omitempty"`
}

// Fields are the mutable fields of a lab as a client sends them.
type Fields struct {
	Code        string
	Name        string
	Description string
	ParentID    string
	Country     string
}

// ListFilter narrows a list of labs.
type ListFilter struct {
	ParentID        *uuid.UUID
	NameContains    string
	IncludeArchived bool
	// LabIDs, when not nil, are the only labs the caller may see.
	LabIDs []uuid.UUID
}

// Store is what the business layer needs from storage. It decides nothing:
// every rule is here.
type Store interface {
	// InTx runs fn with a store bound to one transaction.
	InTx(ctx context.Context, fn func(Store) error) error
	Create(ctx context.Context, lab Lab) (Lab, error)
	// Get returns ErrNotFound for an unknown id; GetForUpdate also locks the row.
	Get(ctx context.Context, id uuid.UUID) (Lab, error)
	GetForUpdate(ctx context.Context, id uuid.UUID) (Lab, error)
	// List returns up to limit labs in code order after afterCode (the
	// lower-cased code of the previous page's last lab, "" for the first).
	List(ctx context.Context, filter ListFilter, afterCode string, limit int32) ([]Lab, error)
	Update(ctx context.Context, lab Lab) (Lab, error)
	SetArchivedAt(ctx context.Context, id uuid.UUID, at *time.Time) (Lab, error)
	Delete(ctx context.Context, id uuid.UUID) error
	// PurgeTrail removes the audit trail of a lab purged for good.
	PurgeTrail(ctx context.Context, id uuid.UUID) error
	// GetForPurge returns and locks the lab, being purged or not (every
	// other read leaves a lab being purged out); MarkPurging marks it.
	GetForPurge(ctx context.Context, id uuid.UUID) (Lab, error)
	MarkPurging(ctx context.Context, id uuid.UUID) error
	CountSubLabs(ctx context.Context, id uuid.UUID) (active, total int64, err error)
	// IsInSubtree reports whether candidate is root or one of its descendants.
	IsInSubtree(ctx context.Context, root, candidate uuid.UUID) (bool, error)
	// LockHierarchy serialises parent changes until the transaction ends.
	LockHierarchy(ctx context.Context) error
	// GetByIDs returns the labs among ids that exist.
	GetByIDs(ctx context.Context, ids []uuid.UUID) ([]Lab, error)
	// Record appends an event to the audit trail, in the store's
	// transaction.
	Record(ctx context.Context, event audit.Event) error

	MemberStore
}

// Errors a Store returns.
var (
	ErrNotFound  = errors.New("lab not found")
	ErrCodeTaken = errors.New("lab code taken")
)

// Business is the lab register. Every method authorizes its caller:
// a lab outside the caller's reach is "not found", a lab they may see but
// not change is "permission denied".
type Business struct {
	store   Store
	authz   *authz.Authorizer
	now     func() time.Time
	purgers []DataPurger
}

// New returns the register over store, authorizing with authorizer.
func New(store Store, authorizer *authz.Authorizer) *Business {
	return &Business{store: store, authz: authorizer, now: time.Now}
}

// Create registers a lab. A top-level lab takes an admin; a sub-lab, the
// right to edit its parent.
func (b *Business) Create(ctx context.Context, fields Fields) (Lab, error) {
	access, err := b.authz.For(ctx)
	if err != nil {
		return Lab{}, err
	}
	lab, err := b.validated(Lab{}, fields, allPaths)
	if err != nil {
		return Lab{}, err
	}
	if err := requireParentRights(access, lab.ParentID); err != nil {
		return Lab{}, err
	}
	var created Lab
	err = b.store.InTx(ctx, func(tx Store) error {
		if lab.ParentID != nil {
			if err := tx.LockHierarchy(ctx); err != nil {
				return err
			}
			if err := checkParent(ctx, tx, *lab.ParentID); err != nil {
				return err
			}
		}
		created, err = tx.Create(ctx, lab)
		if err != nil {
			return codeTaken(err, lab.Code)
		}
		return tx.Record(ctx, labEvent(audit.ActionCreate, nil, &created))
	})
	return created, err
}

// requireParentRights: placing a lab under parent takes the right to edit
// the parent; placing it at the top, an admin. A parent the caller cannot
// see is reported as not existing.
func requireParentRights(access *authz.Access, parent *uuid.UUID) error {
	if parent == nil {
		if access.CanEverywhere(authz.Administer) {
			return nil
		}
		return apperr.PermissionDenied("only an admin may create or move a top-level lab: give parent_id, a lab you manage")
	}
	return access.Require(parent.String(), authz.Edit, apperr.Invalid("parent_id", "no lab has id %s", parent))
}

// Get returns one lab, archived or not.
func (b *Business) Get(ctx context.Context, id string) (Lab, error) {
	labID, _, err := b.authorize(ctx, id, authz.View)
	if err != nil {
		return Lab{}, err
	}
	lab, err := b.store.Get(ctx, labID)
	return lab, notFound(err, id)
}

// authorize parses a lab id and checks the caller may do action on it.
func (b *Business) authorize(ctx context.Context, id string, action authz.Action) (uuid.UUID, *authz.Access, error) {
	access, err := b.authz.For(ctx)
	if err != nil {
		return uuid.UUID{}, nil, err
	}
	labID, err := parseID("id", id)
	if err != nil {
		return uuid.UUID{}, nil, err
	}
	if err := access.Require(labID.String(), action, apperr.NotFound("no lab has id %s", id)); err != nil {
		return uuid.UUID{}, nil, err
	}
	return labID, access, nil
}

// ListQuery asks for one page of labs.
type ListQuery struct {
	PageSize        int32
	PageToken       string
	ParentID        string
	NameContains    string
	IncludeArchived bool
}

// Page is one page of labs and the token of the next ("" on the last).
type Page struct {
	Labs          []Lab
	NextPageToken string
}

type listCursor struct {
	AfterCode string `json:"a"`
}

// List returns a page of the labs the caller may see, in code order.
func (b *Business) List(ctx context.Context, query ListQuery) (Page, error) {
	access, err := b.authz.For(ctx)
	if err != nil {
		return Page{}, err
	}
	size, err := pagetoken.Size(query.PageSize)
	if err != nil {
		return Page{}, err
	}
	filter := ListFilter{NameContains: query.NameContains, IncludeArchived: query.IncludeArchived}
	if query.ParentID != "" {
		parentID, err := parseID("parent_id", query.ParentID)
		if err != nil {
			return Page{}, err
		}
		filter.ParentID = &parentID
	}
	if all, visible := access.LabsWith(authz.View); !all {
		filter.LabIDs = make([]uuid.UUID, 0, len(visible))
		for _, id := range visible {
			if labID, err := uuid.Parse(id); err == nil {
				filter.LabIDs = append(filter.LabIDs, labID)
			}
		}
	}
	filterKey := fmt.Sprintf("%v|%q|%v", query.ParentID, query.NameContains, query.IncludeArchived)
	var cursor listCursor
	if _, err := pagetoken.Decode(query.PageToken, filterKey, &cursor); err != nil {
		return Page{}, err
	}
	// One more than the page tells whether a next page exists.
	labs, err := b.store.List(ctx, filter, cursor.AfterCode, size+1)
	if err != nil {
		return Page{}, fmt.Errorf("list labs: %w", err)
	}
	page := Page{Labs: labs}
	if int32(len(labs)) > size {
		page.Labs = labs[:size]
		last := page.Labs[size-1]
		page.NextPageToken, err = pagetoken.Encode(listCursor{AfterCode: lowerCode(last.Code)}, filterKey)
		if err != nil {
			return Page{}, err
		}
	}
	return page, nil
}

// Replace sets every mutable field of a lab.
func (b *Business) Replace(ctx context.Context, id string, fields Fields) (Lab, error) {
	return b.update(ctx, id, fields, allPaths, audit.ActionReplace)
}

// Update changes the fields named in paths (code, name, description,
// parent_id, country). With no paths it changes the fields that are not
// empty in fields.
func (b *Business) Update(ctx context.Context, id string, fields Fields, paths []string) (Lab, error) {
	if len(paths) == 0 {
		paths = nonEmptyPaths(fields)
		if len(paths) == 0 {
			return Lab{}, apperr.Invalid("update_mask", "nothing to change: send the fields to change, or name them in update_mask (%s)", pathList)
		}
	}
	var unknown apperr.Violations
	for _, path := range paths {
		if !isMutablePath(path) {
			unknown.Add("update_mask", "%q is not a field that can be changed; use %s", path, pathList)
		}
	}
	if err := unknown.Err(); err != nil {
		return Lab{}, err
	}
	return b.update(ctx, id, fields, paths, audit.ActionUpdate)
}

func (b *Business) update(ctx context.Context, id string, fields Fields, paths []string, action string) (Lab, error) {
	labID, access, err := b.authorize(ctx, id, authz.Edit)
	if err != nil {
		return Lab{}, err
	}
	var updated Lab
	err = b.store.InTx(ctx, func(tx Store) error {
		if err := tx.LockHierarchy(ctx); err != nil {
			return err
		}
		current, err := tx.GetForUpdate(ctx, labID)
		if err != nil {
			return notFound(err, id)
		}
		if current.ArchivedAt != nil {
			return apperr.FailedPrecondition("lab %s is archived: unarchive it (POST /api/v1/labs/%s:unarchive) before changing it", current.Code, current.ID)
		}
		lab, err := b.validated(current, fields, paths)
		if err != nil {
			return err
		}
		if !sameParent(current.ParentID, lab.ParentID) {
			// Moving takes the right to edit both the new parent and the
			// one the lab leaves (whose managers lose it).
			if err := requireParentRights(access, lab.ParentID); err != nil {
				return err
			}
			if current.ParentID != nil && !access.Can(current.ParentID.String(), authz.Edit) {
				return apperr.PermissionDenied("moving lab %s out of its parent takes the right to edit the parent", current.Code)
			}
		}
		if lab.ParentID != nil && !sameParent(current.ParentID, lab.ParentID) {
			if err := checkParent(ctx, tx, *lab.ParentID); err != nil {
				return err
			}
			cycle, err := tx.IsInSubtree(ctx, lab.ID, *lab.ParentID)
			if err != nil {
				return err
			}
			if cycle {
				return apperr.Invalid("parent_id", "lab %s is %s itself or one of its sub-labs: a lab cannot be its own ancestor", lab.ParentID, current.Code)
			}
		}
		updated, err = tx.Update(ctx, lab)
		if err != nil {
			return codeTaken(err, lab.Code)
		}
		return tx.Record(ctx, labEvent(action, &current, &updated))
	})
	return updated, err
}

// Delete archives a lab, or with purge removes it for good (admins only).
// Archiving is refused while the lab has sub-labs that are not archived;
// purging, see Purge.
func (b *Business) Delete(ctx context.Context, id string, purge bool) (Lab, error) {
	labID, _, err := b.authorize(ctx, id, authz.Administer)
	if err != nil {
		return Lab{}, err
	}
	if purge {
		return b.purge(ctx, labID)
	}
	var result Lab
	err = b.store.InTx(ctx, func(tx Store) error {
		if err := tx.LockHierarchy(ctx); err != nil {
			return err
		}
		lab, err := tx.GetForUpdate(ctx, labID)
		if err != nil {
			return notFound(err, id)
		}
		active, _, err := tx.CountSubLabs(ctx, labID)
		if err != nil {
			return err
		}
		if active > 0 {
			return apperr.FailedPrecondition("lab %s still has %d sub-lab(s) that are not archived: archive or move them first", lab.Code, active)
		}
		if lab.ArchivedAt != nil {
			result = lab
			return nil
		}
		now := b.now()
		result, err = tx.SetArchivedAt(ctx, labID, &now)
		if err != nil {
			return err
		}
		return tx.Record(ctx, labEvent(audit.ActionArchive, &lab, &result))
	})
	return result, err
}

// Unarchive brings an archived lab back, unless its parent is archived
// (admins only).
func (b *Business) Unarchive(ctx context.Context, id string) (Lab, error) {
	labID, _, err := b.authorize(ctx, id, authz.Administer)
	if err != nil {
		return Lab{}, err
	}
	var result Lab
	err = b.store.InTx(ctx, func(tx Store) error {
		if err := tx.LockHierarchy(ctx); err != nil {
			return err
		}
		lab, err := tx.GetForUpdate(ctx, labID)
		if err != nil {
			return notFound(err, id)
		}
		if lab.ArchivedAt == nil {
			result = lab
			return nil
		}
		if lab.ParentID != nil {
			parent, err := tx.Get(ctx, *lab.ParentID)
			if err != nil {
				return err
			}
			if parent.ArchivedAt != nil {
				return apperr.FailedPrecondition("the parent lab %s is archived: unarchive it first", parent.Code)
			}
		}
		result, err = tx.SetArchivedAt(ctx, labID, nil)
		if err != nil {
			return err
		}
		return tx.Record(ctx, labEvent(audit.ActionUnarchive, &lab, &result))
	})
	return result, err
}

// ResourceLab and ResourceMembership name what labs records in its trail.
const (
	ResourceLab        = "lab"
	ResourceMembership = "membership"
)

// labEvent is the audit event of a change to a lab, before or after being
// nil on the side of a creation or a removal.
func labEvent(action string, before, after *Lab) audit.Event {
	event := audit.Event{ResourceType: ResourceLab, Action: action}
	for _, lab := range []*Lab{after, before} {
		if lab != nil {
			event.LabID, event.ResourceID = lab.ID.String(), lab.ID.String()
		}
	}
	if before != nil {
		event.Before = *before
	}
	if after != nil {
		event.After = *after
	}
	return event
}

// checkParent refuses a parent that does not exist or is archived.
func checkParent(ctx context.Context, tx Store, parentID uuid.UUID) error {
	parent, err := tx.Get(ctx, parentID)
	if errors.Is(err, ErrNotFound) {
		return apperr.Invalid("parent_id", "no lab has id %s", parentID)
	}
	if err != nil {
		return err
	}
	if parent.ArchivedAt != nil {
		return apperr.Invalid("parent_id", "lab %s is archived and cannot take sub-labs", parent.Code)
	}
	return nil
}

func parseID(field, value string) (uuid.UUID, error) {
	id, err := uuid.Parse(value)
	if err != nil {
		return uuid.UUID{}, apperr.Invalid(field, "%q is not a lab id (a UUID such as 7f1c2a9e-4b1d-4c3e-9a57-2d4f6b8e0c11)", value)
	}
	return id, nil
}

func notFound(err error, id string) error {
	if errors.Is(err, ErrNotFound) {
		return apperr.NotFound("no lab has id %s", id)
	}
	return err
}

func codeTaken(err error, code string) error {
	if errors.Is(err, ErrCodeTaken) {
		return apperr.AlreadyExists("a lab with code %q already exists (codes are compared case-insensitively)", code)
	}
	return err
}

func sameParent(a, b *uuid.UUID) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// BatchGet returns the labs among ids that exist, for services acting on
// their own (the service role).
func (b *Business) BatchGet(ctx context.Context, ids []string) ([]Lab, error) {
	if err := authz.RequireService(ctx, "calc", "reporting"); err != nil {
		return nil, err
	}
	if len(ids) > maxBatch {
		return nil, apperr.Invalid("ids", "at most %d ids per call (got %d)", maxBatch, len(ids))
	}
	labIDs := make([]uuid.UUID, 0, len(ids))
	for _, id := range ids {
		labID, err := parseID("ids", id)
		if err != nil {
			return nil, err
		}
		labIDs = append(labIDs, labID)
	}
	return b.store.GetByIDs(ctx, labIDs)
}

const maxBatch = 1000
