package io.github.tfl1l2;

import io.github.tfl1l2.PartialSums.Coefficients;
import io.github.tfl1l2.internal.Devices;
import io.github.tfl1l2.internal.FloatingTypes;
import io.github.tfl1l2.xla.XlaScope;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.DeviceSpec;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.op.Scope;
import org.tensorflow.op.core.Concat;
import org.tensorflow.op.core.Constant;
import org.tensorflow.op.core.Stack;
import org.tensorflow.op.core.Sum;
import org.tensorflow.op.core.Unstack;
import org.tensorflow.op.core.Zeros;
import org.tensorflow.op.math.AddN;
import org.tensorflow.op.math.Mul;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TFloating;
import org.tensorflow.types.family.TType;

/**
 * Builds the ops of one penalty ({@link PenaltySpec}) under its own name scope: reads, grouping,
 * clusters, casts; {@link PartialSums} computes each group's sum.
 *
 * <p>The cost of a penalty is memory traffic plus a per-op overhead, and under XLA a compile time
 * that grows faster than linearly with the size of one cluster. So parameters are grouped:
 *
 * <ul>
 *   <li>Parameters of at most {@link #SMALL_ELEMENTS} elements are flattened and joined before the
 *       penalty is taken: for a summed penalty all of one dtype are concatenated into one vector;
 *       for {@link Reduction#NONE} those of one dtype and one size are stacked into a matrix whose
 *       rows are reduced separately, so each keeps its own value. Thousands of small variables then
 *       cost a handful of ops and one small XLA kernel instead of thousands of each.
 *   <li>Larger parameters each get their own row reduction (joining them would copy them); under
 *       XLA the row sums of a cluster's 32- and 64-bit ones are then joined and summed once, so
 *       that XLA emits one loop over all of them.
 *   <li>With XLA, at most {@link #ENTRIES_PER_CLUSTER} reductions share one cluster, so compile
 *       time stays linear in the number of reductions.
 *   <li>Each parameter is read, joined and reduced on the device it is pinned to, so only scalar
 *       partial sums cross devices.
 * </ul>
 */
final class PenaltyGraph {
  private PenaltyGraph() {}

  /** Parameters up to this many elements are joined with others of their kind. */
  static final long SMALL_ELEMENTS = 1L << 16;

  /**
   * How many reductions one XLA cluster holds at most: fewer clusters compile and launch faster,
   * but one cluster's compile time grows faster than linearly beyond about 100 reductions. The
   * measurements are in the project's docs/design.md ("The XLA layout").
   */
  static final int ENTRIES_PER_CLUSTER = 64;

  /** One reduction: a single parameter, or several joined small ones. */
  private record Entry(List<Integer> members, long size, boolean stacked) {}

  /**
   * Emits the penalty {@code spec} describes over the selected {@code parameters}, in {@code type}:
   * a scalar, or with {@link PenaltySpec#perParameter()} one value per parameter.
   */
  static <T extends TFloating> Operand<T> emit(
      PenaltySpec spec, Scope outer, List<Parameter> parameters, Class<T> type) {
    Scope scope = outer.withSubScope(spec.name());
    boolean vector = spec.perParameter();
    if (spec.zero() || parameters.isEmpty()) {
      long[] shape = vector ? new long[] {parameters.size()} : new long[0];
      return Zeros.create(scope, Constant.vectorOf(scope, shape), type);
    }
    boolean fused = spec.xla() && scope.env().isGraph();
    // The bfloat16 word view goes through Bitcast and bitwise ops, which have no gradient: used
    // only when the penalty's gradient comes from the surrogate, never from these ops.
    boolean words = fused && GradientSurrogate.available();
    Class<? extends TFloating> total = totalAccumulator(parameters, type);
    Coefficients c = Coefficients.of(spec);

    List<Operand<TType>> reads = new ArrayList<>(parameters.size());
    for (Parameter parameter : parameters) {
      reads.add(
          Plumbing.read(Devices.on(scope, parameter.device()), parameter, spec.checkNumerics()));
    }
    List<Entry> entries = plan(parameters, vector);
    int clusters = (entries.size() + ENTRIES_PER_CLUSTER - 1) / ENTRIES_PER_CLUSTER;

    List<Operand<TType>> perParameter = new ArrayList<>(parameters.size());
    for (int i = 0; i < parameters.size(); i++) {
      perParameter.add(null);
    }
    List<Operand<TType>> sums = new ArrayList<>();
    Scope compute = scope;
    for (int first = 0; first < entries.size(); first += ENTRIES_PER_CLUSTER) {
      compute = fused ? XlaScope.wrap(scope, scope.makeOpName("xla_cluster")) : scope;
      List<Operand<TType>> results = new ArrayList<>();
      // The row sums of the cluster's large weights, per device, reduced by one Sum each below.
      Map<String, List<Operand<TType>>> rowSums = new LinkedHashMap<>();
      Map<String, Scope> rowSumScopes = new LinkedHashMap<>();
      for (Entry entry :
          entries.subList(first, Math.min(entries.size(), first + ENTRIES_PER_CLUSTER))) {
        DeviceSpec device = parameters.get(entry.members().get(0)).device();
        Scope local = Devices.on(compute, device);
        Reduced reduced =
            reduce(
                Devices.on(scope, device),
                local,
                entry,
                parameters,
                reads,
                fused,
                words,
                !vector,
                c);
        if (reduced.rowSums() != null && !reduced.alone()) {
          String key = String.valueOf(device);
          rowSums
              .computeIfAbsent(key, k -> new ArrayList<>())
              .add(Plumbing.erase(Plumbing.castIfNeeded(local, reduced.rowSums(), total)));
          rowSumScopes.putIfAbsent(key, local);
          if (reduced.value() == null) {
            continue;
          }
        }
        if (reduced.rowSums() != null && reduced.alone()) {
          // Reduced on its own (see Reduced#alone), then added like any other partial sum.
          Operand<TType> rowsAlone =
              Plumbing.erase(Plumbing.castIfNeeded(local, reduced.rowSums(), total));
          Operand<TType> scaledAlone =
              Mul.create(
                  local, rowsAlone, Plumbing.erase(Plumbing.constant(local, c.scale(), total)));
          results.add(Sum.create(local, scaledAlone, Constant.scalarOf(local, 0)));
          if (reduced.value() == null) {
            continue;
          }
        }
        Operand<TType> value = Plumbing.erase(Plumbing.castIfNeeded(local, reduced.value(), total));
        if (!vector) {
          results.add(value);
        } else if (entry.stacked()) {
          List<Output<TType>> rows =
              Unstack.create(scope, value, (long) entry.members().size()).output();
          for (int row = 0; row < rows.size(); row++) {
            perParameter.set(entry.members().get(row), rows.get(row));
          }
        } else {
          perParameter.set(entry.members().get(0), value);
        }
      }
      for (Map.Entry<String, List<Operand<TType>>> group : rowSums.entrySet()) {
        // One Sum over the concatenated row sums: XLA fuses the concatenation with every
        // weight's row reduction into one loop that reads the weights in turn and is split once
        // across the cores. Reduced one by one, each weight's loop would write the same
        // temporary buffer as the next, so XLA would run them strictly in sequence, each split
        // across the cores: one wait for the slower core per weight. The scale is applied to
        // the concatenation: XLA splits a Sum of a Concat into one Sum per operand, which a
        // Mul in between prevents (and keeps the two reductions apart, see PartialSums).
        Scope local = rowSumScopes.get(group.getKey());
        List<Operand<TType>> vectors = group.getValue();
        Operand<TType> joined =
            vectors.size() == 1
                ? vectors.get(0)
                : Concat.create(local, vectors, Constant.scalarOf(local, 0));
        Operand<TType> scaled =
            Mul.create(local, joined, Plumbing.erase(Plumbing.constant(local, c.scale(), total)));
        results.add(Sum.create(local, scaled, Constant.scalarOf(local, 0)));
      }
      if (!vector) {
        sums.add(results.size() == 1 ? results.get(0) : AddN.create(compute, results));
      }
    }
    // With several clusters the final combination is one small unmarked op.
    Scope combine = clusters == 1 ? compute : scope;
    Operand<TType> combined =
        vector
            ? Stack.create(combine, perParameter)
            : sums.size() == 1 ? sums.get(0) : AddN.create(combine, sums);
    Operand<T> penalty = Plumbing.castIfNeeded(combine, combined, type);
    if (scope.env().isGraph() && GradientSurrogate.available()) {
      // Gradients then come from one fused computation per weight, not from these ops.
      return GradientSurrogate.attach(scope, penalty, reads, spec);
    }
    return penalty;
  }

  /**
   * Splits the parameters into reductions, keeping input order among the large ones and placing
   * each group of small ones where its first member stood.
   */
  private static List<Entry> plan(List<Parameter> parameters, boolean vector) {
    List<Entry> entries = new ArrayList<>();
    Map<String, List<Integer>> groups = new LinkedHashMap<>();
    Map<String, Integer> groupSlot = new LinkedHashMap<>();
    for (int i = 0; i < parameters.size(); i++) {
      Parameter parameter = parameters.get(i);
      long size = Plumbing.knownSize(parameter.operand().shape());
      if (size < 0 || size > SMALL_ELEMENTS) {
        entries.add(new Entry(List.of(i), size, false));
        continue;
      }
      // Only parameters on one device are joined, so that no weight leaves its device.
      String key = parameter.dtype() + "@" + parameter.device() + (vector ? "/" + size : "");
      List<Integer> members = groups.get(key);
      if (members == null) {
        members = new ArrayList<>();
        groups.put(key, members);
        groupSlot.put(key, entries.size());
        entries.add(null);
      }
      members.add(i);
    }
    for (Map.Entry<String, List<Integer>> group : groups.entrySet()) {
      List<Integer> members = group.getValue();
      long size = 0;
      for (int member : members) {
        size += Plumbing.knownSize(parameters.get(member).operand().shape());
      }
      boolean stacked = vector && members.size() > 1;
      long width = stacked ? size / members.size() : size;
      entries.set(groupSlot.get(group.getKey()), new Entry(List.copyOf(members), width, stacked));
    }
    return entries;
  }

  /**
   * One entry's penalty: the sum of {@code rowSums} (scaled row sums of its rows of 32, or null)
   * and {@code value} (a scalar, or for a stacked entry one value per member; null when the row
   * sums are the whole penalty).
   */
  private record Reduced(Operand<TType> rowSums, Operand<TType> value, boolean alone) {
    Reduced(Operand<TType> rowSums, Operand<TType> value) {
      this(rowSums, value, false);
    }
  }

  /**
   * Emits one entry's penalty; with {@code split}, a fused entry of known size over 32 elements
   * that is not stacked leaves its row sums unreduced ({@link PartialSums#parts}).
   *
   * <p>Row sums of 16-bit weights are marked {@code alone}: reduced per weight, not joined with
   * others. Joining them measured slower (notes/read-floor.md): XLA's loop over a concatenation
   * picks its operand once per row, and XLA's loop over 16-bit weights is bound by arithmetic
   * rather than by memory. With {@code words}, a bfloat16 entry whose size is a multiple of 64 is
   * read as 32-bit words ({@link RowLayout#bfloat16Words}).
   */
  private static Reduced reduce(
      Scope plain,
      Scope compute,
      Entry entry,
      List<Parameter> parameters,
      List<Operand<TType>> reads,
      boolean fused,
      boolean words,
      boolean split,
      Coefficients c) {
    List<Integer> members = entry.members();
    Operand<TType> input;
    if (members.size() == 1) {
      input = reads.get(members.get(0));
    } else {
      // Joining happens outside XLA: TensorFlow's concat is a plain memcpy per input, while a
      // concatenate inside the cluster is neither fused nor fast on CPU.
      List<Operand<TType>> flats = new ArrayList<>(members.size());
      for (int member : members) {
        flats.add(Plumbing.flatten(plain, reads.get(member)));
      }
      long pad = fused && !entry.stacked() ? RowLayout.padding(entry.size()) : 0;
      if (pad > 0) {
        // Zeros to whole rows cost nothing extra here (the concat copies anyway).
        flats.add(
            Zeros.create(plain, Constant.vectorOf(plain, new long[] {pad}), flats.get(0).type()));
        entry = new Entry(members, entry.size() + pad, false);
      }
      input =
          entry.stacked()
              ? Stack.create(plain, flats)
              : Concat.create(plain, flats, Constant.scalarOf(plain, 0));
    }
    DataType dtype = parameters.get(members.get(0)).dtype();
    boolean narrow = dtype == DataType.DT_BFLOAT16 || dtype == DataType.DT_HALF;
    if (words
        && split
        && dtype == DataType.DT_BFLOAT16
        && !entry.stacked()
        && entry.size() > 0
        && entry.size() % RowLayout.WORD_ROW_ELEMENTS == 0) {
      Operand<TType> flat =
          input.shape().numDimensions() == 1 ? input : Plumbing.flatten(plain, input);
      Operand<TInt32> packed = RowLayout.bfloat16Words(plain, flat, entry.size());
      return new Reduced(
          Plumbing.erase(PartialSums.bfloat16RowSums(compute, packed, c)), null, true);
    }
    if (fused && entry.size() >= 0) {
      if (!entry.stacked() && input.shape().numDimensions() != 1) {
        input = Plumbing.flatten(plain, input);
      }
      input = RowLayout.view(plain, input, members.size(), entry.size(), entry.stacked());
    }
    Operand<? extends TFloating> x =
        Plumbing.castIfNeeded(compute, input, FloatingTypes.accumulatorOf(dtype));
    if (entry.stacked()) {
      return new Reduced(
          null,
          Plumbing.erase(
              fused
                  ? PartialSums.fused(compute, x, members.size(), entry.size(), true, c)
                  : PartialSums.plain(compute, x, true, c)));
    }
    if (!fused) {
      return new Reduced(null, Plumbing.erase(PartialSums.plain(compute, x, false, c)));
    }
    if (entry.size() < 0) {
      // Unknown size: the per-element layout trick needs static dimensions.
      return new Reduced(null, Plumbing.erase(PartialSums.plain(compute, x, false, c)));
    }
    if (split && entry.size() > RowLayout.ROW) {
      PartialSums.Parts<? extends TFloating> parts =
          PartialSums.parts(compute, x, 1, entry.size(), false, c);
      return new Reduced(
          Plumbing.erase(parts.rowSums()),
          parts.tail() == null ? null : Plumbing.erase(parts.tail()),
          narrow);
    }
    return new Reduced(
        null, Plumbing.erase(PartialSums.fused(compute, x, 1, entry.size(), false, c)));
  }

  private static Class<? extends TFloating> totalAccumulator(
      List<Parameter> parameters, Class<? extends TFloating> resultType) {
    if (resultType == TFloat64.class) {
      return TFloat64.class;
    }
    for (Parameter parameter : parameters) {
      if (FloatingTypes.accumulatorOf(parameter.dtype()) == TFloat64.class) {
        return TFloat64.class;
      }
    }
    return FloatingTypes.accumulatorOf(FloatingTypes.dataTypeOf(resultType));
  }
}
