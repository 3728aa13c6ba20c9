package labsapi

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	labsv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1"
	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsbus"
)

func (h *Handler) ListMembers(ctx context.Context, req *connect.Request[labsv1.ListMembersRequest]) (*connect.Response[labsv1.ListMembersResponse], error) {
	members, err := h.labs.ListMembers(ctx, req.Msg.GetLabId())
	if err != nil {
		return nil, err
	}
	res := &labsv1.ListMembersResponse{Members: make([]*labsv1.Member, len(members))}
	for i, member := range members {
		res.Members[i] = memberToProto(member)
	}
	return connect.NewResponse(res), nil
}

func (h *Handler) AddMember(ctx context.Context, req *connect.Request[labsv1.AddMemberRequest]) (*connect.Response[labsv1.AddMemberResponse], error) {
	in := req.Msg.GetMember()
	member, err := h.labs.AddMember(ctx, req.Msg.GetLabId(), labsbus.Member{
		Subject: in.GetSubject(), Email: in.GetEmail(), Role: in.GetRole(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&labsv1.AddMemberResponse{Member: memberToProto(member)}), nil
}

func (h *Handler) RemoveMember(ctx context.Context, req *connect.Request[labsv1.RemoveMemberRequest]) (*connect.Response[labsv1.RemoveMemberResponse], error) {
	if err := h.labs.RemoveMember(ctx, req.Msg.GetLabId(), req.Msg.GetSubject()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&labsv1.RemoveMemberResponse{}), nil
}

func (h *Handler) GetMe(ctx context.Context, _ *connect.Request[labsv1.GetMeRequest]) (*connect.Response[labsv1.GetMeResponse], error) {
	me, err := h.labs.Me(ctx)
	if err != nil {
		return nil, err
	}
	res := &labsv1.GetMeResponse{
		Subject: me.Principal.Subject,
		Email:   me.Principal.Email,
		Roles:   me.Principal.Roles,
		Labs:    make([]*labsv1.LabAccess, len(me.Grants)),
	}
	for i, grant := range me.Grants {
		res.Labs[i] = &labsv1.LabAccess{
			LabId: grant.LabID.String(), LabCode: grant.LabCode, LabName: grant.LabName,
			Role: grant.Role, GrantedOnLabId: grant.GrantedOn.String(),
		}
	}
	return connect.NewResponse(res), nil
}

func memberToProto(member labsbus.Member) *labsv1.Member {
	return &labsv1.Member{
		Subject:   member.Subject,
		Email:     member.Email,
		Role:      member.Role,
		CreatedAt: timestamppb.New(member.CreatedAt),
		CreatedBy: member.CreatedBy,
	}
}
