package calcapi

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/yearbus"
)

// Years implements ReportingYearService.
type Years struct {
	years *yearbus.Years
}

var _ calcv1connect.ReportingYearServiceHandler = (*Years)(nil)

// NewYears returns the handler.
func NewYears(years *yearbus.Years) *Years { return &Years{years: years} }

func (y *Years) ListReportingYears(ctx context.Context, req *connect.Request[calcv1.ListReportingYearsRequest]) (*connect.Response[calcv1.ListReportingYearsResponse], error) {
	years, err := y.years.List(ctx, req.Msg.GetLabId())
	if err != nil {
		return nil, err
	}
	res := &calcv1.ListReportingYearsResponse{Years: make([]*calcv1.ReportingYear, len(years))}
	for i, year := range years {
		res.Years[i] = yearToProto(year)
	}
	return connect.NewResponse(res), nil
}

func (y *Years) GetReportingYear(ctx context.Context, req *connect.Request[calcv1.GetReportingYearRequest]) (*connect.Response[calcv1.GetReportingYearResponse], error) {
	year, err := y.years.Get(ctx, req.Msg.GetLabId(), req.Msg.GetYear())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.GetReportingYearResponse{Year: yearToProto(year)}), nil
}

func (y *Years) CloseReportingYear(ctx context.Context, req *connect.Request[calcv1.CloseReportingYearRequest]) (*connect.Response[calcv1.CloseReportingYearResponse], error) {
	year, err := y.years.Close(ctx, req.Msg.GetLabId(), req.Msg.GetYear())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.CloseReportingYearResponse{Year: yearToProto(year)}), nil
}

func (y *Years) ReopenReportingYear(ctx context.Context, req *connect.Request[calcv1.ReopenReportingYearRequest]) (*connect.Response[calcv1.ReopenReportingYearResponse], error) {
	year, err := y.years.Reopen(ctx, req.Msg.GetLabId(), req.Msg.GetYear())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.ReopenReportingYearResponse{Year: yearToProto(year)}), nil
}

func (y *Years) CloseYearForAllLabs(ctx context.Context, req *connect.Request[calcv1.CloseYearForAllLabsRequest]) (*connect.Response[calcv1.CloseYearForAllLabsResponse], error) {
	closedAgain, err := y.years.CloseEverywhere(ctx, req.Msg.GetYear())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.CloseYearForAllLabsResponse{Year: req.Msg.GetYear(), LabsClosedAgain: closedAgain}), nil
}

func yearToProto(year yearbus.Year) *calcv1.ReportingYear {
	out := &calcv1.ReportingYear{LabId: year.LabID.String(), Year: year.Year, State: year.State, ChangedBy: year.ChangedBy}
	if year.ChangedAt != nil {
		out.ChangedAt = timestamppb.New(*year.ChangedAt)
	}
	return out
}
