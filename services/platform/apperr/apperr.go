// Package apperr holds the errors the business layer returns when a request
// cannot be served, and turns them into Connect errors at the API edge.
package apperr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
)

// Error is a failure the caller can act on; Code says which kind.
type Error struct {
	Code       connect.Code
	Message    string
	Violations []FieldViolation
}

func (e *Error) Error() string { return e.Message }

// FieldViolation names a request field and what is wrong with it.
type FieldViolation struct {
	Field       string
	Description string
}

// NotFound: the resource does not exist (or is outside the caller's reach).
func NotFound(format string, args ...any) error {
	return &Error{Code: connect.CodeNotFound, Message: fmt.Sprintf(format, args...)}
}

// AlreadyExists: the request would duplicate something unique.
func AlreadyExists(format string, args ...any) error {
	return &Error{Code: connect.CodeAlreadyExists, Message: fmt.Sprintf(format, args...)}
}

// FailedPrecondition: the request is well formed but the system's state
// refuses it.
func FailedPrecondition(format string, args ...any) error {
	return &Error{Code: connect.CodeFailedPrecondition, Message: fmt.Sprintf(format, args...)}
}

// Conflict: the request contradicts the resource's current state (a closed
// year, a state change that cannot happen from the state it is in); HTTP
// 409.
func Conflict(format string, args ...any) error {
	return &Error{Code: connect.CodeAborted, Message: fmt.Sprintf(format, args...)}
}

// PermissionDenied: the caller may see the resource but not do this.
func PermissionDenied(format string, args ...any) error {
	return &Error{Code: connect.CodePermissionDenied, Message: fmt.Sprintf(format, args...)}
}

// Invalid: one field is wrong.
func Invalid(field, format string, args ...any) error {
	var v Violations
	v.Add(field, format, args...)
	return v.Err()
}

// Violations collects every problem of a request so the caller can fix them
// all at once.
type Violations []FieldViolation

// Add records that field is wrong.
func (v *Violations) Add(field, format string, args ...any) {
	*v = append(*v, FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// Err returns nil when nothing was recorded, else an InvalidArgument error
// whose message lists every violation.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	parts := make([]string, len(v))
	for i, violation := range v {
		parts[i] = violation.Field + ": " + violation.Description
	}
	return &Error{
		Code:       connect.CodeInvalidArgument,
		Message:    "invalid request: " + strings.Join(parts, "; "),
		Violations: v,
	}
}

// ToConnect turns err into the Connect error a client receives. Errors of
// this package keep their code, message and field violations (as a
// google.rpc.BadRequest detail); Connect errors pass through; cancellation
// and deadlines keep their meaning. Anything else is reported as Internal
// with a generic message, and internal is true so the caller logs it.
func ToConnect(err error) (converted *connect.Error, internal bool) {
	var appErr *Error
	var connectErr *connect.Error
	switch {
	case errors.As(err, &appErr):
		converted = connect.NewError(appErr.Code, errors.New(appErr.Message))
		if len(appErr.Violations) > 0 {
			badRequest := &errdetails.BadRequest{}
			for _, violation := range appErr.Violations {
				badRequest.FieldViolations = append(badRequest.FieldViolations, &errdetails.BadRequest_FieldViolation{
					Field: violation.Field, Description: violation.Description,
				})
			}
			if detail, detailErr := connect.NewErrorDetail(badRequest); detailErr == nil {
				converted.AddDetail(detail)
			}
		}
		return converted, false
	case errors.As(err, &connectErr) && connectErr.Code() == connect.CodeUnknown:
		// Unknown never leaves a service: the gateway reads it as a request
		// it failed to decode.
		return connect.NewError(connect.CodeInternal, errors.New("internal error")), true
	case errors.As(err, &connectErr):
		return connectErr, connectErr.Code() == connect.CodeInternal
	case isDataException(err):
		// PostgreSQL refused a value the client sent (a NUL byte in text, a
		// number out of range): the client's mistake, not ours.
		return connect.NewError(connect.CodeInvalidArgument, errors.New("invalid value in the request: "+dataExceptionMessage(err))), false
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err), false
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err), false
	default:
		return connect.NewError(connect.CodeInternal, errors.New("internal error")), true
	}
}

// isDataException reports a PostgreSQL error of class 22 (data exception).
func isDataException(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "22")
}

func dataExceptionMessage(err error) string {
	var pgErr *pgconn.PgError
	errors.As(err, &pgErr)
	return pgErr.Message
}

// Unavailable: a service the request needs did not answer; the same
// request may be repeated.
func Unavailable(format string, args ...any) error {
	return &Error{Code: connect.CodeUnavailable, Message: fmt.Sprintf(format, args...)}
}
