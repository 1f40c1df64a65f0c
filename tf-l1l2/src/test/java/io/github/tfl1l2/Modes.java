package io.github.tfl1l2;

import java.util.List;
import java.util.function.Function;
import org.tensorflow.EagerSession;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat64;

/**
 * The three ways a penalty runs: a graph with the XLA-marked cluster, a graph without it, and an
 * eager session. Values come back as doubles, so float64 results keep every digit.
 */
enum Modes {
  GRAPH_XLA(true, true),
  GRAPH(true, false),
  EAGER(false, false);

  static final List<Modes> ALL = List.of(values());

  final boolean graph;
  final boolean xla;

  Modes(boolean graph, boolean xla) {
    this.graph = graph;
    this.xla = xla;
  }

  /** {@code config} with this mode's XLA setting. */
  L1L2 apply(L1L2 config) {
    return config.toBuilder().xla(xla).build();
  }

  /** Builds an operand with {@code build} in a fresh environment, runs it, returns its values. */
  double[] evaluate(Function<Ops, Operand<?>> build) {
    if (graph) {
      try (Graph g = new Graph()) {
        Operand<?> out = build.apply(Ops.create(g));
        try (Session s = new Session(g);
            Result result = s.runner().fetch(out).run()) {
          return doubles(result.get(0));
        }
      }
    }
    try (EagerSession eager = EagerSession.create()) {
      return doubles(build.apply(Ops.create(eager)).asTensor());
    }
  }

  /** Every value of a floating tensor, as stored, widened to double. */
  static double[] doubles(Tensor tensor) {
    if (tensor instanceof TFloat64 t) {
      double[] values = new double[(int) t.shape().size()];
      t.copyTo(DataBuffers.of(values, false, false));
      return values;
    }
    float[] floats = Fixtures.floats(tensor);
    double[] values = new double[floats.length];
    for (int i = 0; i < floats.length; i++) {
      values[i] = floats[i];
    }
    return values;
  }

  @Override
  public String toString() {
    return name().toLowerCase(java.util.Locale.ROOT).replace('_', '+');
  }
}
