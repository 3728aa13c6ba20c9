package labsbus

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// Member is someone holding a role on a lab, named by their OIDC subject or,
// until then, their email address.
type Member struct {
	LabID     uuid.UUID `json:"lab_id"`
	Subject   string    `json:"subject"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// LabGrant is a role the caller holds on a lab, granted there or on an
// ancestor.
type LabGrant struct {
	LabID     uuid.UUID
	LabCode   string
	LabName   string
	Role      string
	GrantedOn uuid.UUID
}

// MemberStore keeps memberships.
type MemberStore interface {
	ListMembers(ctx context.Context, labID uuid.UUID) ([]Member, error)
	// UpsertMember adds the member or changes their role.
	UpsertMember(ctx context.Context, member Member) (Member, error)
	// DeleteMember removes the member named by subject or email; ErrNotFound
	// when there is none.
	DeleteMember(ctx context.Context, labID uuid.UUID, name string) error
	// EffectiveGrants lists the roles held by subject (or by email, when
	// not empty) on every lab, inherited ones included.
	EffectiveGrants(ctx context.Context, subject, email string) ([]LabGrant, error)
}

// ListMembers lists the people holding a role on a lab.
func (b *Business) ListMembers(ctx context.Context, labID string) ([]Member, error) {
	id, _, err := b.authorize(ctx, labID, authz.View)
	if err != nil {
		return nil, err
	}
	return b.store.ListMembers(ctx, id)
}

// AddMember grants a lab role, or changes the one held.
func (b *Business) AddMember(ctx context.Context, labID string, member Member) (Member, error) {
	id, access, err := b.authorize(ctx, labID, authz.ManageMembers)
	if err != nil {
		return Member{}, err
	}
	member.LabID = id
	member.Subject = strings.TrimSpace(member.Subject)
	member.Email = strings.ToLower(strings.TrimSpace(member.Email))
	member.Role = strings.TrimSpace(member.Role)
	var violations apperr.Violations
	if member.Subject == "" && member.Email == "" {
		violations.Add("subject", "name the person by subject (the sub of their token, see GET /api/v1/me) or by email")
	}
	if member.Email != "" {
		if address, err := mail.ParseAddress(member.Email); err != nil || address.Address != member.Email {
			violations.Add("email", "%q is not an email address", member.Email)
		}
	}
	if !authz.IsLabRole(member.Role) {
		violations.Add("role", "%q is not a lab role: use %s, %s or %s", member.Role, authz.RoleLabManager, authz.RoleLabMember, authz.RoleValidator)
	}
	if err := violations.Err(); err != nil {
		return Member{}, err
	}
	member.CreatedBy = access.Principal().Subject
	var stored Member
	err = b.store.InTx(ctx, func(tx Store) error {
		before, err := findMember(ctx, tx, id, member.Subject, member.Email)
		if err != nil {
			return err
		}
		stored, err = tx.UpsertMember(ctx, member)
		if err != nil {
			return err
		}
		return tx.Record(ctx, memberEvent(audit.ActionAddMember, before, &stored))
	})
	return stored, err
}

// findMember returns the membership of lab id named by subject or, without
// one, by email; nil when there is none.
func findMember(ctx context.Context, tx Store, id uuid.UUID, subject, email string) (*Member, error) {
	members, err := tx.ListMembers(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, m := range members {
		if (subject != "" && m.Subject == subject) || (subject == "" && m.Subject == "" && m.Email == email) {
			return &m, nil
		}
	}
	return nil, nil
}

// memberEvent is the audit event of a change to a membership.
func memberEvent(action string, before, after *Member) audit.Event {
	event := audit.Event{ResourceType: ResourceMembership, Action: action}
	for _, m := range []*Member{after, before} {
		if m != nil {
			event.LabID = m.LabID.String()
			event.ResourceID = m.LabID.String() + "/" + memberName(*m)
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

// memberName is how a member is named: subject, or email until they sign in.
func memberName(m Member) string {
	if m.Subject != "" {
		return m.Subject
	}
	return m.Email
}

// RemoveMember takes a role away; name is the member's subject or email.
func (b *Business) RemoveMember(ctx context.Context, labID, name string) error {
	id, _, err := b.authorize(ctx, labID, authz.ManageMembers)
	if err != nil {
		return err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return apperr.Invalid("subject", "name the member to remove by subject or email")
	}
	return b.store.InTx(ctx, func(tx Store) error {
		members, err := tx.ListMembers(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteMember(ctx, id, name); err != nil {
			if errors.Is(err, ErrNotFound) {
				return apperr.NotFound("%s holds no role on this lab", name)
			}
			return err
		}
		// The memberships the name matched, as the store removes them.
		for _, m := range members {
			if m.Subject == name || (m.Email != "" && m.Email == strings.ToLower(name)) {
				if err := tx.Record(ctx, memberEvent(audit.ActionDropMember, &m, nil)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Me describes the caller: who they are and every lab role they hold.
type Me struct {
	Principal authn.Principal
	Grants    []LabGrant
}

// Me returns the caller.
func (b *Business) Me(ctx context.Context) (Me, error) {
	access, err := b.authz.For(ctx)
	if err != nil {
		return Me{}, err
	}
	principal := access.Principal()
	grants, err := b.store.EffectiveGrants(ctx, principal.Subject, verifiedEmail(principal))
	if err != nil {
		return Me{}, err
	}
	return Me{Principal: principal, Grants: grants}, nil
}

// GrantSource resolves lab roles from the memberships table.
type GrantSource struct{ Store MemberStore }

// Grants returns the principal's lab roles, inherited ones included.
func (s GrantSource) Grants(ctx context.Context, principal authn.Principal) ([]authz.Grant, error) {
	held, err := s.Store.EffectiveGrants(ctx, principal.Subject, verifiedEmail(principal))
	if err != nil {
		return nil, err
	}
	grants := make([]authz.Grant, len(held))
	for i, grant := range held {
		grants[i] = authz.Grant{LabID: grant.LabID.String(), Role: grant.Role}
	}
	return grants, nil
}

// verifiedEmail is the email memberships may match: only a verified one.
func verifiedEmail(principal authn.Principal) string {
	if principal.EmailVerified {
		return principal.Email
	}
	return ""
}
