package io.github.tfl1l2.savedmodel.inline;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Output;
import org.tensorflow.ndarray.Shape;

/**
 * TensorFlow lists ({@code DT_VARIANT} tensors made by {@code TensorListFromTensor} or {@code
 * TensorListReserve}) whose elements are known tensor by tensor when the graph is built: the slices
 * of a tensor along its first axis, taken by one {@code Unpack}, or the tensors written into a
 * reserved list, kept in a Java array.
 *
 * <p>Each list version is keyed by the graph tensor of the list op that made it: the inliner still
 * copies those ops, so that a consumer left as an op of its own (a loop kept as one node) gets the
 * real list; when every read is rewritten they feed nothing that the outputs need, and never run.
 *
 * <p>Not thread-safe.
 */
final class TensorLists {
  /** The elements of one list version: {@code items[i]} null where slot {@code i} is unset. */
  private record Items(Output<?>[] items, Output<?> source) {}

  private final Graph graph;

  /** Keyed by the list tensor itself: its hash is the op's address, no JNI call for a name. */
  private final Map<Output<?>, Items> lists = new HashMap<>();

  TensorLists(Graph graph) {
    this.graph = graph;
  }

  /** Whether {@code list} is a list version whose elements are known here. */
  boolean isKnown(Output<?> list) {
    return lists.containsKey(list);
  }

  /** Whether {@code list} is known and every one of its slots is set. */
  boolean isComplete(Output<?> list) {
    Items items = lists.get(list);
    if (items == null || items.items().length == 0) {
      return false;
    }
    for (Output<?> item : items.items()) {
      if (item == null) {
        return false;
      }
    }
    return true;
  }

  /** The set elements of the known list {@code list} (its source tensor where it has one). */
  List<Output<?>> elements(Output<?> list) {
    Items items = lists.get(list);
    List<Output<?>> elements = new ArrayList<>();
    if (items.source() != null) {
      elements.add(items.source());
    }
    for (Output<?> item : items.items()) {
      if (item != null) {
        elements.add(item);
      }
    }
    return elements;
  }

  /**
   * {@code list} (a {@code TensorListFromTensor} of {@code tensor}) holds the slices of {@code
   * tensor} along its first axis. That axis's length must be known when the graph is built (it is
   * the time axis of a recurrent layer); otherwise the list stays unknown.
   *
   * @param path the node's name; the {@code Unpack} of the slices is named {@code path/unstacked}
   */
  void fromTensor(Output<?> list, Output<?> tensor, String path, FunctionInliner inliner) {
    Shape shape = tensor.shape();
    if (shape.isUnknown() || shape.numDimensions() < 1 || shape.get(0) <= 0) {
      return;
    }
    int length = Math.toIntExact(shape.get(0));
    // One Unpack for all slices: its gradient is one Pack, where a StridedSlice per step would have
    // a gradient as large as the whole tensor per step.
    GraphOperation unpack =
        build(
            graph
                .opBuilder("Unpack", path + "/unstacked", graph.baseScope())
                .addInput(tensor)
                .setAttr("num", length)
                .setAttr("axis", 0L),
            path,
            inliner);
    inliner.adopt(unpack, List.of(tensor));
    Output<?>[] slices = new Output<?>[length];
    for (int i = 0; i < length; i++) {
      slices[i] = unpack.output(i);
    }
    lists.put(list, new Items(slices, tensor));
  }

  /** {@code list} (a {@code TensorListReserve}) has {@code length} unset slots. */
  void reserve(Output<?> list, long length) {
    if (length >= 0 && length <= Integer.MAX_VALUE) {
      lists.put(list, new Items(new Output<?>[(int) length], null));
    }
  }

  /**
   * The element {@code index} of the known list {@code list}.
   *
   * @param path the reading node, named by a refusal
   * @throws io.github.tfl1l2.savedmodel.SavedModelException if the index is outside the list or its
   *     slot was never set
   */
  Output<?> get(Output<?> list, long index, String path, FunctionInliner inliner) {
    Items items = lists.get(list);
    checkIndex(items, index, "reads", path, inliner);
    Output<?> item = items.items()[(int) index];
    if (item == null) {
      throw inliner.refused(path, "reads element " + index + " of a list before it is set");
    }
    return item;
  }

  /**
   * {@code result} (a {@code TensorListSetItem}) is {@code list} with element {@code index}
   * replaced by {@code item}.
   *
   * @throws io.github.tfl1l2.savedmodel.SavedModelException if the index is outside the list
   */
  void set(
      Output<?> result,
      Output<?> list,
      long index,
      Output<?> item,
      String path,
      FunctionInliner inliner) {
    Items items = lists.get(list);
    checkIndex(items, index, "writes", path, inliner);
    Output<?>[] copy = items.items().clone();
    copy[(int) index] = item;
    lists.put(result, new Items(copy, null));
  }

  /**
   * The elements of the complete list {@code list} stacked on a new first axis: its source tensor
   * itself where it was never written, else a {@code Pack} named {@code path}.
   */
  Output<?> stack(Output<?> list, String path, FunctionInliner inliner) {
    Items items = lists.get(list);
    if (items.source() != null) {
      return items.source();
    }
    GraphOperation pack =
        build(
            graph
                .opBuilder("Pack", path, graph.baseScope())
                .addInputList(items.items())
                .setAttr("axis", 0L),
            path,
            inliner);
    inliner.adopt(pack, List.of(items.items()));
    return pack.output(0);
  }

  /** Builds a replacement op, refusing the node it stands for if TensorFlow rejects it. */
  private static GraphOperation build(
      org.tensorflow.GraphOperationBuilder builder, String path, FunctionInliner inliner) {
    try {
      return builder.build();
    } catch (RuntimeException e) {
      throw inliner.refused(
          path,
          "cannot be rewritten as ops with gradients: "
              + io.github.tfl1l2.savedmodel.SavedModelException.firstLine(e));
    }
  }

  private static void checkIndex(
      Items items, long index, String verb, String path, FunctionInliner inliner) {
    if (index < 0 || index >= items.items().length) {
      throw inliner.refused(
          path, verb + " element " + index + " of a list of " + items.items().length + " elements");
    }
  }
}
