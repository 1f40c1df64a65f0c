package io.github.tfl1l2.savedmodel.inline;

import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.FunctionDefLibrary;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NameAttrList;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.OpDef;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TensorShapeProto;

/**
 * Graph functions of the form Keras 2 traces for its recurrent layers ({@code standard_lstm},
 * {@code standard_gru}, {@code Bidirectional}, masking), written out node by node as the {@code
 * lstm_sentiment} SavedModel holds them: a {@code StatelessWhile} over {@code (loop_counter,
 * maximum_iterations, time, output list, states…, time bound, input list, weights…)}, a condition
 * {@code time < Shape(inputs)[0]} (with {@code loop_counter < maximum_iterations} where a maximum
 * is given), the inputs read by {@code TensorListGetItem}, outputs written by {@code
 * TensorListSetItem} and stacked by {@code TensorListStack}.
 *
 * <p>The graph's inputs are placeholders {@code x} [batch, time, features] and {@code mask} [batch,
 * time] (bool) for a masked layer, its weights resource variables; one {@code
 * StatefulPartitionedCall} named {@code call} computes the layers' last outputs. TensorFlow runs
 * that call itself, which is what the tests compare the unrolled copy to.
 */
final class KerasLoops {
  /** The layer's kind. */
  enum Cell {
    LSTM(4),
    GRU(3);

    final int gates;

    Cell(int gates) {
      this.gates = gates;
    }
  }

  private final DataType type;
  private final List<FunctionDef> functions = new ArrayList<>();
  private int serial;

  KerasLoops(DataType type) {
    this.type = type;
  }

  // ---- attribute helpers

  static AttrValue type(DataType t) {
    return AttrValue.newBuilder().setType(t).build();
  }

  static AttrValue i(long v) {
    return AttrValue.newBuilder().setI(v).build();
  }

  static AttrValue func(String name) {
    return AttrValue.newBuilder().setFunc(NameAttrList.newBuilder().setName(name)).build();
  }

  static AttrValue types(DataType... ts) {
    return AttrValue.newBuilder()
        .setList(AttrValue.ListValue.newBuilder().addAllType(Arrays.asList(ts)))
        .build();
  }

  static AttrValue shape(long... dims) {
    TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
    for (long d : dims) {
      s.addDim(TensorShapeProto.Dim.newBuilder().setSize(d));
    }
    return AttrValue.newBuilder().setShape(s).build();
  }

  static AttrValue ints(int... values) {
    ByteBuffer bytes = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    for (int v : values) {
      bytes.putInt(v);
    }
    return AttrValue.newBuilder()
        .setTensor(
            TensorProto.newBuilder()
                .setDtype(DataType.DT_INT32)
                .setTensorShape(
                    TensorShapeProto.newBuilder()
                        .addDim(TensorShapeProto.Dim.newBuilder().setSize(values.length)))
                .setTensorContent(ByteString.copyFrom(bytes.array())))
        .build();
  }

  static AttrValue intScalar(int value) {
    return AttrValue.newBuilder()
        .setTensor(TensorProto.newBuilder().setDtype(DataType.DT_INT32).addIntVal(value))
        .build();
  }

  AttrValue floatScalar(double value) {
    TensorProto.Builder t = TensorProto.newBuilder().setDtype(type);
    if (type == DataType.DT_DOUBLE) {
      t.addDoubleVal(value);
    } else {
      t.addFloatVal((float) value);
    }
    return AttrValue.newBuilder().setTensor(t).build();
  }

  /** One function body under construction: nodes in the order added. */
  final class Body {
    final FunctionDef.Builder f = FunctionDef.newBuilder();

    Body(String name) {
      f.getSignatureBuilder().setName(name);
    }

    String in(String name, DataType t) {
      f.getSignatureBuilder().addInputArg(OpDef.ArgDef.newBuilder().setName(name).setType(t));
      return name;
    }

    void out(String name, DataType t, String ref) {
      f.getSignatureBuilder().addOutputArg(OpDef.ArgDef.newBuilder().setName(name).setType(t));
      f.putRet(name, ref);
    }

    /** Adds a node; returns {@code name:arg:0}. Attributes as name, value pairs. */
    String node(String name, String op, String arg, List<String> inputs, Object... attrs) {
      NodeDef.Builder n = NodeDef.newBuilder().setName(name).setOp(op).addAllInput(inputs);
      for (int k = 0; k < attrs.length; k += 2) {
        n.putAttr((String) attrs[k], (AttrValue) attrs[k + 1]);
      }
      f.addNodeDef(n);
      return name + ":" + arg + ":0";
    }

    String constInts(String name, int... values) {
      return node(
          name,
          "Const",
          "output",
          List.of(),
          "dtype",
          type(DataType.DT_INT32),
          "value",
          ints(values));
    }

    String scalar(String name, int value) {
      return node(
          name,
          "Const",
          "output",
          List.of(),
          "dtype",
          type(DataType.DT_INT32),
          "value",
          intScalar(value));
    }

    String op(String name, String op, String arg, String... inputs) {
      return node(name, op, arg, List.of(inputs), "T", type(type));
    }

    FunctionDef build() {
      FunctionDef def = f.build();
      functions.add(def);
      return def;
    }
  }

  /**
   * The {@code standard_lstm}/{@code standard_gru} function: {@code (inputs, init_h[, init_c],
   * kernel, recurrent_kernel, bias[, mask])} → {@code (last_output, outputs, h[, c])}.
   *
   * @param backwards {@code go_backwards}: the time axis reversed before the loop
   * @param maximum whether the loop has {@code maximum_iterations} = {@code timesteps} (the form
   *     with a {@code loop_counter < maximum_iterations} condition)
   * @param sequences {@code return_sequences}: every step's output is kept (else only the last, in
   *     a list of one element written at index 0)
   */
  String layer(
      Cell cell,
      int units,
      boolean masked,
      boolean backwards,
      boolean maximum,
      boolean sequences,
      int timesteps) {
    int id = serial++;
    String bodyName = "while_body_" + id;
    String condName = "while_cond_" + id;
    boolean lstm = cell == Cell.LSTM;
    int gates = cell.gates;

    // ---- condition: time < n (&& counter < maximum)
    Body cond = new Body(condName);
    String counter = cond.in("while_loop_counter", DataType.DT_INT32);
    String max = cond.in("while_maximum_iterations", DataType.DT_INT32);
    String time = cond.in("while_placeholder", DataType.DT_INT32);
    cond.in("while_placeholder_1", DataType.DT_VARIANT);
    if (masked) {
      cond.in("while_placeholder_2", type);
    }
    cond.in("while_placeholder_h", type);
    if (lstm) {
      cond.in("while_placeholder_c", type);
    }
    String bound = cond.in("while_less_strided_slice", DataType.DT_INT32);
    cond.in("redundant_inputs", DataType.DT_VARIANT);
    if (masked) {
      cond.in("redundant_mask", DataType.DT_VARIANT);
    }
    cond.in("redundant_kernel", type);
    cond.in("redundant_recurrent_kernel", type);
    cond.in(lstm ? "redundant_bias" : "redundant_input_bias", type);
    if (!lstm) {
      cond.in("redundant_recurrent_bias", type);
    }
    String less =
        cond.node("while/Less", "Less", "z", List.of(time, bound), "T", type(DataType.DT_INT32));
    if (maximum) {
      String less1 =
          cond.node(
              "while/Less_1", "Less", "z", List.of(counter, max), "T", type(DataType.DT_INT32));
      less = cond.node("while/LogicalAnd", "LogicalAnd", "z", List.of(less1, less));
    }
    String condOut =
        cond.node(
            "while/Identity", "Identity", "output", List.of(less), "T", type(DataType.DT_BOOL));
    cond.out("while_identity", DataType.DT_BOOL, condOut);
    cond.build();

    // ---- body
    Body body = new Body(bodyName);
    String bCounter = body.in("while_loop_counter", DataType.DT_INT32);
    String bMax = body.in("while_maximum_iterations", DataType.DT_INT32);
    String bTime = body.in("while_placeholder", DataType.DT_INT32);
    String bOutList = body.in("while_placeholder_1", DataType.DT_VARIANT);
    String bPrev = masked ? body.in("while_placeholder_2", type) : null;
    String bH = body.in("while_placeholder_h", type);
    String bC = lstm ? body.in("while_placeholder_c", type) : null;
    String bBound = body.in("while_strided_slice_0", DataType.DT_INT32);
    String bInputs = body.in("while_tensorlistfromtensor_0", DataType.DT_VARIANT);
    String bMask =
        masked ? body.in("while_mask_tensorlistfromtensor_0", DataType.DT_VARIANT) : null;
    String bKernel = body.in("while_matmul_kernel_0", type);
    String bRecurrent = body.in("while_matmul_1_recurrent_kernel_0", type);
    String bBias = body.in(lstm ? "while_biasadd_bias_0" : "while_biasadd_input_bias_0", type);
    String bRecurrentBias = lstm ? null : body.in("while_biasadd_1_recurrent_bias_0", type);
    String es = body.constInts("while/TensorArrayV2Read/TensorListGetItem/element_shape", -1, -1);
    String x =
        body.node(
            "while/TensorArrayV2Read/TensorListGetItem",
            "TensorListGetItem",
            "item",
            List.of(bInputs, bTime, es),
            "element_dtype",
            type(type));
    String h;
    String c = null;
    if (lstm) {
      String mm = body.op("while/MatMul", "MatMul", "product", x, bKernel);
      String mm1 = body.op("while/MatMul_1", "MatMul", "product", bH, bRecurrent);
      String add = body.op("while/add", "AddV2", "z", mm, mm1);
      String z = body.op("while/BiasAdd", "BiasAdd", "output", add, bBias);
      String dim = body.scalar("while/split/split_dim", 1);
      body.node(
          "while/split", "Split", "output", List.of(dim, z), "T", type(type), "num_split", i(4));
      String ig = body.op("while/Sigmoid", "Sigmoid", "y", "while/split:output:0");
      String fg = body.op("while/Sigmoid_1", "Sigmoid", "y", "while/split:output:1");
      String fc = body.op("while/mul", "Mul", "z", fg, bC);
      String cand = body.op("while/Tanh", "Tanh", "y", "while/split:output:2");
      String ic = body.op("while/mul_1", "Mul", "z", ig, cand);
      c = body.op("while/add_1", "AddV2", "z", fc, ic);
      String og = body.op("while/Sigmoid_2", "Sigmoid", "y", "while/split:output:3");
      String tc = body.op("while/Tanh_1", "Tanh", "y", c);
      h = body.op("while/mul_2", "Mul", "z", og, tc);
    } else {
      String mx = body.op("while/MatMul", "MatMul", "product", x, bKernel);
      String bx = body.op("while/BiasAdd", "BiasAdd", "output", mx, bBias);
      String dim = body.scalar("while/split/split_dim", 1);
      body.node(
          "while/split", "Split", "output", List.of(dim, bx), "T", type(type), "num_split", i(3));
      String mi = body.op("while/MatMul_1", "MatMul", "product", bH, bRecurrent);
      String bi = body.op("while/BiasAdd_1", "BiasAdd", "output", mi, bRecurrentBias);
      String dim1 = body.scalar("while/split_1/split_dim", 1);
      body.node(
          "while/split_1",
          "Split",
          "output",
          List.of(dim1, bi),
          "T",
          type(type),
          "num_split",
          i(3));
      String az =
          body.op("while/add", "AddV2", "z", "while/split:output:0", "while/split_1:output:0");
      String zg = body.op("while/Sigmoid", "Sigmoid", "y", az);
      String ar =
          body.op("while/add_1", "AddV2", "z", "while/split:output:1", "while/split_1:output:1");
      String rg = body.op("while/Sigmoid_1", "Sigmoid", "y", ar);
      String rh = body.op("while/mul", "Mul", "z", rg, "while/split_1:output:2");
      String ah = body.op("while/add_2", "AddV2", "z", "while/split:output:2", rh);
      String hh = body.op("while/Tanh", "Tanh", "y", ah);
      String zh = body.op("while/mul_1", "Mul", "z", zg, bH);
      String one =
          body.node(
              "while/sub/x",
              "Const",
              "output",
              List.of(),
              "dtype",
              type(type),
              "value",
              floatScalar(1.0));
      String omz = body.op("while/sub", "Sub", "z", one, zg);
      String zhh = body.op("while/mul_2", "Mul", "z", omz, hh);
      h = body.op("while/add_3", "AddV2", "z", zh, zhh);
    }
    String out = h;
    String newH = h;
    String newC = c;
    if (masked) {
      String mes =
          body.constInts("while/TensorArrayV2Read_1/TensorListGetItem/element_shape", -1, 1);
      String m =
          body.node(
              "while/TensorArrayV2Read_1/TensorListGetItem",
              "TensorListGetItem",
              "item",
              List.of(bMask, bTime, mes),
              "element_dtype",
              type(DataType.DT_BOOL));
      String mult = body.constInts("while/Tile/multiples", 1, 1);
      String tiled =
          body.node("while/Tile", "Tile", "output", List.of(m, mult), "T", type(DataType.DT_BOOL));
      out = body.op("while/SelectV2", "SelectV2", "output", tiled, h, bPrev);
      newH = body.op("while/SelectV2_1", "SelectV2", "output", tiled, h, bH);
      if (lstm) {
        newC = body.op("while/SelectV2_2", "SelectV2", "output", tiled, c, bC);
      }
    }
    String index =
        sequences ? bTime : body.scalar("while/TensorArrayV2Write/TensorListSetItem/index", 0);
    String written =
        body.node(
            "while/TensorArrayV2Write/TensorListSetItem",
            "TensorListSetItem",
            "output_handle",
            List.of(bOutList, index, out),
            "element_dtype",
            type(type));
    String one = body.scalar("while/add_t/y", 1);
    String nextTime =
        body.node("while/add_t", "AddV2", "z", List.of(bTime, one), "T", type(DataType.DT_INT32));
    String one1 = body.scalar("while/add_c/y", 1);
    String nextCounter =
        body.node(
            "while/add_c", "AddV2", "z", List.of(bCounter, one1), "T", type(DataType.DT_INT32));
    body.out(
        "while_identity",
        DataType.DT_INT32,
        body.node(
            "while/Identity",
            "Identity",
            "output",
            List.of(nextCounter),
            "T",
            type(DataType.DT_INT32)));
    body.out(
        "while_identity_1",
        DataType.DT_INT32,
        body.node(
            "while/Identity_1", "Identity", "output", List.of(bMax), "T", type(DataType.DT_INT32)));
    body.out(
        "while_identity_2",
        DataType.DT_INT32,
        body.node(
            "while/Identity_2",
            "Identity",
            "output",
            List.of(nextTime),
            "T",
            type(DataType.DT_INT32)));
    body.out(
        "while_identity_3",
        DataType.DT_VARIANT,
        body.node(
            "while/Identity_3",
            "Identity",
            "output",
            List.of(written),
            "T",
            type(DataType.DT_VARIANT)));
    if (masked) {
      body.out(
          "while_identity_prev",
          type,
          body.node("while/Identity_p", "Identity", "output", List.of(out), "T", type(type)));
    }
    body.out(
        "while_identity_4",
        type,
        body.node("while/Identity_4", "Identity", "output", List.of(newH), "T", type(type)));
    if (lstm) {
      body.out(
          "while_identity_5",
          type,
          body.node("while/Identity_5", "Identity", "output", List.of(newC), "T", type(type)));
    }
    body.out("while_strided_slice", DataType.DT_INT32, bBound);
    body.out("while_inputs", DataType.DT_VARIANT, bInputs);
    if (masked) {
      body.out("while_mask", DataType.DT_VARIANT, bMask);
    }
    body.out("while_kernel", type, bKernel);
    body.out("while_recurrent_kernel", type, bRecurrent);
    body.out("while_bias", type, bBias);
    if (!lstm) {
      body.out("while_recurrent_bias", type, bRecurrentBias);
    }
    body.build();

    // ---- the layer function
    String name = "__inference_standard_" + cell.name().toLowerCase() + "_" + id;
    Body f = new Body(name);
    String inputs = f.in("inputs", type);
    String initH = f.in("init_h", type);
    String initC = lstm ? f.in("init_c", type) : null;
    String kernel = f.in("kernel", type);
    String recurrent = f.in("recurrent_kernel", type);
    String bias = f.in("bias", type);
    String mask = masked ? f.in("mask", DataType.DT_BOOL) : null;
    String perm = f.constInts("transpose/perm", 1, 0, 2);
    String tm = f.node("transpose", "Transpose", "y", List.of(inputs, perm), "T", type(type));
    String shape = f.node("Shape", "Shape", "output", List.of(tm), "T", type(type));
    String s0 = f.constInts("strided_slice/stack", 0);
    String s1 = f.constInts("strided_slice/stack_1", 1);
    String s2 = f.constInts("strided_slice/stack_2", 1);
    String n =
        f.node(
            "strided_slice",
            "StridedSlice",
            "output",
            List.of(shape, s0, s1, s2),
            "Index",
            type(DataType.DT_INT32),
            "T",
            type(DataType.DT_INT32),
            "shrink_axis_mask",
            i(1));
    String inputBias = bias;
    String recurrentBias = null;
    if (!lstm) {
      f.node("unstack", "Unpack", "output", List.of(bias), "T", type(type), "num", i(2));
      inputBias = "unstack:output:0";
      recurrentBias = "unstack:output:1";
    }
    String source = tm;
    if (backwards) {
      String axis = f.constInts("ReverseV2/axis", 0);
      source = f.node("ReverseV2", "ReverseV2", "output", List.of(tm, axis), "T", type(type));
    }
    String maskList = null;
    if (masked) {
      String dims = f.scalar("ExpandDims/dim", -1);
      String expanded =
          f.node(
              "ExpandDims",
              "ExpandDims",
              "output",
              List.of(mask, dims),
              "T",
              type(DataType.DT_BOOL));
      String mperm = f.constInts("transpose_2/perm", 1, 0, 2);
      String mt =
          f.node(
              "transpose_2",
              "Transpose",
              "y",
              List.of(expanded, mperm),
              "T",
              type(DataType.DT_BOOL));
      if (backwards) {
        String axis = f.constInts("ReverseV2_1/axis", 0);
        mt =
            f.node(
                "ReverseV2_1",
                "ReverseV2",
                "output",
                List.of(mt, axis),
                "T",
                type(DataType.DT_BOOL));
      }
      String mes = f.constInts("TensorArrayUnstack_1/TensorListFromTensor/element_shape", -1, 1);
      maskList =
          f.node(
              "TensorArrayUnstack_1/TensorListFromTensor",
              "TensorListFromTensor",
              "output_handle",
              List.of(mt, mes),
              "element_dtype",
              type(DataType.DT_BOOL),
              "shape_type",
              type(DataType.DT_INT32));
    }
    String ies = f.constInts("TensorArrayUnstack/TensorListFromTensor/element_shape", -1, -1);
    String inputList =
        f.node(
            "TensorArrayUnstack/TensorListFromTensor",
            "TensorListFromTensor",
            "output_handle",
            List.of(source, ies),
            "element_dtype",
            type(type),
            "shape_type",
            type(DataType.DT_INT32));
    String oes = f.constInts("TensorArrayV2_1/element_shape", -1, units);
    String count = sequences ? n : f.scalar("TensorArrayV2_1/num_elements", 1);
    String outList =
        f.node(
            "TensorArrayV2_1",
            "TensorListReserve",
            "handle",
            List.of(oes, count),
            "element_dtype",
            type(type),
            "shape_type",
            type(DataType.DT_INT32));
    String time0 = f.scalar("time", 0);
    String maxIter = f.scalar("while/maximum_iterations", maximum ? timesteps : -1);
    String counter0 = f.scalar("while/loop_counter", 0);
    List<String> loopInputs = new ArrayList<>(List.of(counter0, maxIter, time0, outList));
    List<DataType> loopTypes =
        new ArrayList<>(
            List.of(DataType.DT_INT32, DataType.DT_INT32, DataType.DT_INT32, DataType.DT_VARIANT));
    if (masked) {
      String zeros = f.node("zeros_like", "ZerosLike", "y", List.of(initH), "T", type(type));
      loopInputs.add(zeros);
      loopTypes.add(type);
    }
    loopInputs.add(initH);
    loopTypes.add(type);
    if (lstm) {
      loopInputs.add(initC);
      loopTypes.add(type);
    }
    loopInputs.addAll(List.of(n, inputList));
    loopTypes.addAll(List.of(DataType.DT_INT32, DataType.DT_VARIANT));
    if (masked) {
      loopInputs.add(maskList);
      loopTypes.add(DataType.DT_VARIANT);
    }
    loopInputs.addAll(List.of(kernel, recurrent, inputBias));
    loopTypes.addAll(List.of(type, type, type));
    if (!lstm) {
      loopInputs.add(recurrentBias);
      loopTypes.add(type);
    }
    f.node(
        "while",
        "StatelessWhile",
        "output",
        loopInputs,
        "T",
        types(loopTypes.toArray(new DataType[0])),
        "body",
        func(bodyName),
        "cond",
        func(condName),
        "parallel_iterations",
        i(32));
    int first = masked ? 5 : 4;
    String sesShape = f.constInts("TensorArrayV2Stack/TensorListStack/element_shape", -1, units);
    String stacked =
        f.node(
            "TensorArrayV2Stack/TensorListStack",
            "TensorListStack",
            "tensor",
            List.of("while:output:3", sesShape),
            "element_dtype",
            type(type),
            "num_elements",
            i(sequences ? timesteps : 1));
    String l0 = f.constInts("strided_slice_2/stack", -1);
    String l1 = f.constInts("strided_slice_2/stack_1", 0);
    String l2 = f.constInts("strided_slice_2/stack_2", 1);
    String last =
        f.node(
            "strided_slice_2",
            "StridedSlice",
            "output",
            List.of(stacked, l0, l1, l2),
            "Index",
            type(DataType.DT_INT32),
            "T",
            type(type),
            "shrink_axis_mask",
            i(1));
    String perm1 = f.constInts("transpose_1/perm", 1, 0, 2);
    String seq = f.node("transpose_1", "Transpose", "y", List.of(stacked, perm1), "T", type(type));
    f.out("identity", type, f.op("Identity", "Identity", "output", last));
    f.out("identity_1", type, f.op("Identity_1", "Identity", "output", seq));
    f.out("identity_2", type, f.op("Identity_2", "Identity", "output", "while:output:" + first));
    if (lstm) {
      f.out(
          "identity_3",
          type,
          f.op("Identity_3", "Identity", "output", "while:output:" + (first + 1)));
    }
    f.build();
    return name;
  }

  /**
   * Makes the {@link #layer} function {@code generic} the {@code "CPU"} member of an implementation
   * pair {@code api} (attributes {@code api_implements}, {@code api_preferred_device}), and adds
   * its {@code "GPU"} member: same arguments and outputs, but every output is {@code init_h + 1},
   * so that which member ran shows in the output.
   *
   * @return the GPU member's name
   */
  String gpuTwin(Cell cell, String generic, String api) {
    AttrValue implementsAttr = AttrValue.newBuilder().setS(ByteString.copyFromUtf8(api)).build();
    FunctionDef genericDef = null;
    for (int k = 0; k < functions.size(); k++) {
      if (functions.get(k).getSignature().getName().equals(generic)) {
        genericDef =
            functions.get(k).toBuilder()
                .putAttr("api_implements", implementsAttr)
                .putAttr(
                    "api_preferred_device",
                    AttrValue.newBuilder().setS(ByteString.copyFromUtf8("CPU")).build())
                .build();
        functions.set(k, genericDef);
      }
    }
    String name = "__inference_gpu_" + cell.name().toLowerCase() + "_with_fallback_" + serial++;
    Body f = new Body(name);
    for (OpDef.ArgDef arg : genericDef.getSignature().getInputArgList()) {
      f.in(arg.getName(), arg.getType());
    }
    String one =
        f.node("one", "Const", "output", List.of(), "dtype", type(type), "value", floatScalar(1.0));
    String plusOne = f.op("plus_one", "AddV2", "z", "init_h", one);
    for (OpDef.ArgDef arg : genericDef.getSignature().getOutputArgList()) {
      f.out(arg.getName(), arg.getType(), plusOne);
    }
    f.f
        .putAttr("api_implements", implementsAttr)
        .putAttr(
            "api_preferred_device",
            AttrValue.newBuilder().setS(ByteString.copyFromUtf8("GPU")).build());
    f.build();
    return name;
  }

  /** The number of outputs of a {@link #layer} function. */
  static int layerOutputs(Cell cell) {
    return cell == Cell.LSTM ? 4 : 3;
  }

  /**
   * A model function {@code (x, weights of each layer…[, mask])} → the concatenated last outputs of
   * the layers, each called with zero initial states, as {@code Bidirectional} concatenates its
   * forward and backward layers.
   */
  String model(Cell cell, int units, List<String> layers, boolean masked) {
    Body f = new Body("__inference_model_" + serial++);
    String x = f.in("x", type);
    List<String[]> weights = new ArrayList<>();
    for (int l = 0; l < layers.size(); l++) {
      String[] read = new String[3];
      String[] names = {"kernel_" + l, "recurrent_kernel_" + l, "bias_" + l};
      for (int k = 0; k < 3; k++) {
        String handle = f.in(names[k] + "_readvariableop_resource", DataType.DT_RESOURCE);
        read[k] =
            f.node(
                names[k] + "/ReadVariableOp",
                "ReadVariableOp",
                "value",
                List.of(handle),
                "dtype",
                type(type));
      }
      weights.add(read);
    }
    String mask = masked ? f.in("mask", DataType.DT_BOOL) : null;
    String shape = f.node("Shape", "Shape", "output", List.of(x), "T", type(type));
    String s0 = f.constInts("strided_slice/stack", 0);
    String s1 = f.constInts("strided_slice/stack_1", 1);
    String s2 = f.constInts("strided_slice/stack_2", 1);
    String batch =
        f.node(
            "strided_slice",
            "StridedSlice",
            "output",
            List.of(shape, s0, s1, s2),
            "Index",
            type(DataType.DT_INT32),
            "T",
            type(DataType.DT_INT32),
            "shrink_axis_mask",
            i(1));
    String u = f.scalar("zeros/packed/1", units);
    String packed =
        f.node(
            "zeros/packed",
            "Pack",
            "output",
            List.of(batch, u),
            "T",
            type(DataType.DT_INT32),
            "N",
            i(2));
    String zero =
        f.node(
            "zeros/Const",
            "Const",
            "output",
            List.of(),
            "dtype",
            type(type),
            "value",
            floatScalar(0.0));
    String zeros = f.node("zeros", "Fill", "output", List.of(packed, zero), "T", type(type));
    List<String> lasts = new ArrayList<>();
    int outs = layerOutputs(cell);
    for (int l = 0; l < layers.size(); l++) {
      List<String> args = new ArrayList<>(List.of(x, zeros));
      List<DataType> tin = new ArrayList<>(List.of(type, type));
      if (cell == Cell.LSTM) {
        args.add(zeros);
        tin.add(type);
      }
      args.addAll(Arrays.asList(weights.get(l)));
      tin.addAll(List.of(type, type, type));
      if (masked) {
        args.add(mask);
        tin.add(DataType.DT_BOOL);
      }
      DataType[] tout = new DataType[outs];
      Arrays.fill(tout, type);
      f.node(
          "layer_" + l + "/PartitionedCall",
          "PartitionedCall",
          "output",
          args,
          "Tin",
          types(tin.toArray(new DataType[0])),
          "Tout",
          types(tout),
          "f",
          func(layers.get(l)));
      lasts.add("layer_" + l + "/PartitionedCall:output:0");
    }
    String result = lasts.get(0);
    if (lasts.size() > 1) {
      List<String> concat = new ArrayList<>(lasts);
      concat.add(f.scalar("concat/axis", -1));
      result =
          f.node(
              "concat",
              "ConcatV2",
              "output",
              concat,
              "T",
              type(type),
              "N",
              i(lasts.size()),
              "Tidx",
              type(DataType.DT_INT32));
    }
    String name = f.f.getSignature().getName();
    f.out("output", type, f.op("Identity", "Identity", "output", result));
    f.build();
    return name;
  }

  /**
   * The graph: placeholders {@code x} [batch, timesteps, features] ({@code timesteps} -1 for a time
   * axis unknown until run time), {@code kernel_l}, {@code recurrent_kernel_l}, {@code bias_l} per
   * layer, {@code mask} where masked, and {@code call}, a {@code PartitionedCall} of {@code model}.
   */
  GraphDef graph(
      String model,
      Cell cell,
      int layers,
      int features,
      int units,
      long timesteps,
      boolean masked) {
    GraphDef.Builder g = GraphDef.newBuilder();
    g.addNode(placeholder("x", type, -1, timesteps, features));
    List<String> inputs = new ArrayList<>(List.of("x"));
    List<DataType> tin = new ArrayList<>(List.of(type));
    for (int l = 0; l < layers; l++) {
      variable(g, "kernel_" + l, features, (long) cell.gates * units);
      variable(g, "recurrent_kernel_" + l, units, (long) cell.gates * units);
      if (cell == Cell.LSTM) {
        variable(g, "bias_" + l, (long) cell.gates * units);
      } else {
        variable(g, "bias_" + l, 2, (long) cell.gates * units);
      }
      inputs.addAll(List.of("kernel_" + l, "recurrent_kernel_" + l, "bias_" + l));
      tin.addAll(List.of(DataType.DT_RESOURCE, DataType.DT_RESOURCE, DataType.DT_RESOURCE));
    }
    if (masked) {
      g.addNode(placeholder("mask", DataType.DT_BOOL, -1, timesteps));
      inputs.add("mask");
      tin.add(DataType.DT_BOOL);
    }
    g.addNode(
        NodeDef.newBuilder()
            .setName("call")
            .setOp("StatefulPartitionedCall")
            .addAllInput(inputs)
            .putAttr("Tin", types(tin.toArray(new DataType[0])))
            .putAttr("Tout", types(type))
            .putAttr("f", func(model)));
    g.setLibrary(FunctionDefLibrary.newBuilder().addAllFunction(functions));
    return g.build();
  }

  private void variable(GraphDef.Builder g, String name, long... dims) {
    g.addNode(
        NodeDef.newBuilder()
            .setName(name)
            .setOp("VarHandleOp")
            .putAttr("dtype", type(type))
            .putAttr("shape", shape(dims))
            .putAttr(
                "shared_name", AttrValue.newBuilder().setS(ByteString.copyFromUtf8(name)).build()));
    g.addNode(placeholder(name + "/value", type, dims));
    g.addNode(
        NodeDef.newBuilder()
            .setName(name + "/assign")
            .setOp("AssignVariableOp")
            .addInput(name)
            .addInput(name + "/value")
            .putAttr("dtype", type(type)));
  }

  private static NodeDef placeholder(String name, DataType t, long... dims) {
    return NodeDef.newBuilder()
        .setName(name)
        .setOp("Placeholder")
        .putAttr("dtype", type(t))
        .putAttr("shape", shape(dims))
        .build();
  }
}
