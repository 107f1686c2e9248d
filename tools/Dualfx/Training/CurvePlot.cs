using DualFramework.Training;
using ScottPlot;

namespace DualFramework.Tools.Dualfx.Training;

/// <summary>The learning curves of a run as one PNG: loss on the left, accuracy on the right, train and validation.</summary>
internal static class CurvePlot
{
    public const int Width = 1200, Height = 500;

    public static void Save(string path, History history, string title)
    {
        var epochs = history.Epochs.Select(e => (double)(e.Epoch + 1)).ToArray();
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        Panel(multiplot.GetPlot(0), epochs, history, "loss", $"{title}: loss");
        Panel(multiplot.GetPlot(1), epochs, history, "accuracy", $"{title}: accuracy");
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        multiplot.SavePng(path, Width, Height);
    }

    private static void Panel(Plot plot, double[] epochs, History history, string metric, string title)
    {
        Series(plot, epochs, history[metric], "train", Colors.C0);
        Series(plot, epochs, history["val_" + metric], "validation", Colors.C1);
        plot.Title(title);
        plot.XLabel("epoch");
        plot.YLabel(metric);
        // Loss falls and accuracy rises: the legend goes where the curves are not.
        plot.ShowLegend(metric == "loss" ? Alignment.UpperRight : Alignment.LowerRight);
        plot.Axes.Margins(0.08, 0.15);
        // Whole epochs on the x axis, even for a run of one or two.
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        if (epochs.Length == 1) plot.Axes.SetLimitsX(0.5, 1.5);
    }

    private static void Series(Plot plot, double[] epochs, IReadOnlyList<double> values, string label, Color color)
    {
        var ys = values.ToArray();
        if (ys.All(double.IsNaN)) return;
        var scatter = plot.Add.Scatter(epochs, ys, color);
        scatter.LegendText = label;
        scatter.LineWidth = 2;
        scatter.MarkerSize = 8;
    }
}
