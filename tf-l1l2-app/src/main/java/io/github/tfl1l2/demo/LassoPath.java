package io.github.tfl1l2.demo;

import io.github.tfl1l2.demo.LassoSolver.Solution;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The lasso path of a standardized regression problem: the solutions at a grid of {@code l1} values
 * from the smallest at which every weight is zero down to nearly no penalty, each solved from the
 * previous one (a warm start), and the order in which the variables enter.
 *
 * @param featureNames the variables, in column order
 * @param l1Max the smallest {@code l1} at which every weight is zero, {@code max_j |(2/n)·x_jᵀy|}
 * @param points the solutions by decreasing {@code l1}, the first all zero
 * @param entryOrder the variables in the order they first become non-zero going down the path, ties
 *     at a grid point resolved by refinement
 * @param refinements how each tie was resolved, one line each
 * @param exits the variables that leave the model further down the path and where, one line each
 * @param leastSquares the unpenalized least-squares weights, solved in double
 * @param learningRate the proximal step size used
 */
record LassoPath(
    List<String> featureNames,
    double l1Max,
    List<Solution> points,
    List<String> entryOrder,
    List<String> refinements,
    List<String> exits,
    double[] leastSquares,
    float learningRate) {

  /** Bisections allowed to separate variables that enter between two grid points. */
  static final int MAX_REFINEMENTS = 30;

  /**
   * Traces the path on {@code data} (already standardized, target centered) at {@code points}
   * {@code l1} values spaced evenly on a log scale from {@code l1Max} down to {@code l1Max ·
   * bottom}.
   */
  static LassoPath trace(DiabetesData data, int points, double bottom) {
    double[][] x = data.features();
    double[] y = data.target();
    double l1Max = LinearAlgebra.smallestAllZeroL1(x, y);
    // Rounded up by a millionth so that rounding cannot leave a weight at 1e-17 at the top.
    double top = l1Max * (1 + 1e-6);
    List<Solution> path = new ArrayList<>();
    LassoSolver solver = new LassoSolver(x, y);
    double[] start = new double[x[0].length];
    for (int i = 0; i < points; i++) {
      double l1 = top * Math.pow(bottom, (double) i / (points - 1));
      Solution solution = solver.solve(l1, start);
      path.add(solution);
      start = solution.weights();
    }
    List<String> refinements = new ArrayList<>();
    List<Integer> order = entryOrder(solver, path, data.featureNames(), refinements);
    return new LassoPath(
        data.featureNames(),
        l1Max,
        path,
        order.stream().map(data.featureNames()::get).toList(),
        refinements,
        exits(path, data.featureNames()),
        LinearAlgebra.leastSquares(x, y),
        solver.learningRate());
  }

  /** The variables in order of first entry; ties at one grid point refined by bisection. */
  private static List<Integer> entryOrder(
      LassoSolver solver, List<Solution> path, List<String> names, List<String> refinements) {
    int p = names.size();
    List<Integer> order = new ArrayList<>();
    boolean[] entered = new boolean[p];
    for (int i = 0; i < path.size(); i++) {
      List<Integer> entering = new ArrayList<>();
      for (int j = 0; j < p; j++) {
        if (!entered[j] && path.get(i).active(j)) {
          entering.add(j);
          entered[j] = true;
        }
      }
      if (entering.size() > 1) {
        Solution above = path.get(i - 1);
        Solution below = path.get(i);
        List<Integer> resolved = refine(solver, above, below.l1(), entering, MAX_REFINEMENTS);
        refinements.add(
            String.format(
                Locale.ROOT,
                "%s first appear together at l1 = %s; bisecting between l1 = %s and %s gives %s",
                String.join(" and ", resolved.stream().map(names::get).sorted().toList()),
                SummaryTable.coefficient(below.l1()),
                SummaryTable.coefficient(above.l1()),
                SummaryTable.coefficient(below.l1()),
                String.join(", then ", resolved.stream().map(names::get).toList())));
        order.addAll(resolved);
      } else {
        order.addAll(entering);
      }
    }
    return order;
  }

  /**
   * Orders {@code group}, all zero at {@code above} and all non-zero at {@code lowL1}, by solving
   * at the geometric midpoint (from {@code above}) and splitting the group by who is non-zero
   * there.
   */
  private static List<Integer> refine(
      LassoSolver solver, Solution above, double lowL1, List<Integer> group, int budget) {
    if (group.size() < 2 || budget == 0) {
      return group;
    }
    double middle = Math.sqrt(above.l1() * lowL1);
    Solution atMiddle = solver.solve(middle, above.weights());
    List<Integer> first = new ArrayList<>();
    List<Integer> later = new ArrayList<>();
    for (int j : group) {
      (atMiddle.active(j) ? first : later).add(j);
    }
    if (first.isEmpty()) {
      return refine(solver, atMiddle, lowL1, group, budget - 1);
    }
    if (later.isEmpty()) {
      return refine(solver, above, middle, group, budget - 1);
    }
    List<Integer> result = new ArrayList<>(refine(solver, above, middle, first, budget - 1));
    result.addAll(refine(solver, atMiddle, lowL1, later, budget - 1));
    return result;
  }

  /** Lines naming each variable that leaves the model between two grid points and any return. */
  private static List<String> exits(List<Solution> path, List<String> names) {
    List<String> lines = new ArrayList<>();
    for (int j = 0; j < names.size(); j++) {
      for (int i = 1; i < path.size(); i++) {
        if (path.get(i - 1).active(j) && !path.get(i).active(j)) {
          String line =
              String.format(
                  Locale.ROOT,
                  "%s leaves the model between l1 = %s and %s",
                  names.get(j),
                  SummaryTable.coefficient(path.get(i - 1).l1()),
                  SummaryTable.coefficient(path.get(i).l1()));
          for (int k = i + 1; k < path.size(); k++) {
            if (path.get(k).active(j)) {
              line +=
                  String.format(
                      Locale.ROOT,
                      " and comes back between l1 = %s and %s",
                      SummaryTable.coefficient(path.get(k - 1).l1()),
                      SummaryTable.coefficient(path.get(k).l1()));
              break;
            }
          }
          lines.add(line);
        }
      }
    }
    return lines;
  }
}
