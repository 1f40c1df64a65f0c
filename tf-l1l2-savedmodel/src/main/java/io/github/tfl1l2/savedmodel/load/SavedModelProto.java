package io.github.tfl1l2.savedmodel.load;

import io.github.tfl1l2.savedmodel.SavedModelException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.tensorflow.proto.SavedModel;

/**
 * Reads a directory's {@code saved_model.pb} and finds the MetaGraphDef of a tag in it, naming the
 * directory in every refusal.
 */
public final class SavedModelProto {
  /** The binary SavedModel protocol buffer: the only form TF-Java loads. */
  public static final String SAVED_MODEL_PB = "saved_model.pb";

  /** The text form, which TF-Java cannot load. */
  public static final String SAVED_MODEL_PBTXT = "saved_model.pbtxt";

  /** The checkpoint directory, and the checkpoint's prefix inside it. */
  public static final String VARIABLES = "variables";

  /** Hashes the exact files of the directory; they change on re-export. */
  public static final String FINGERPRINT_PB = "fingerprint.pb";

  private SavedModelProto() {}

  /**
   * Parses {@code directory}'s {@value #SAVED_MODEL_PB}.
   *
   * @param directory the SavedModel directory
   * @return the parsed protocol buffer
   * @throws SavedModelException if it is missing, cannot be parsed or holds no MetaGraphDef
   */
  public static SavedModel read(Path directory) {
    Path pb = directory.resolve(SAVED_MODEL_PB);
    if (!Files.isRegularFile(pb)) {
      throw new SavedModelException(
          directory
              + " is not a SavedModel: it has no "
              + SAVED_MODEL_PB
              + (Files.exists(directory.resolve(SAVED_MODEL_PBTXT))
                  ? " (" + SAVED_MODEL_PBTXT + ", the text form, is not supported)"
                  : ""));
    }
    SavedModel savedModel;
    try {
      savedModel = SavedModel.parseFrom(Files.readAllBytes(pb));
    } catch (IOException e) {
      throw new SavedModelException(
          directory
              + " is not a SavedModel: "
              + SAVED_MODEL_PB
              + " cannot be parsed ("
              + SavedModelException.firstLine(e)
              + ")",
          e);
    }
    if (savedModel.getMetaGraphsCount() == 0) {
      throw new SavedModelException(
          directory + " is not a SavedModel: " + SAVED_MODEL_PB + " holds no MetaGraphDef");
    }
    return savedModel;
  }

  /**
   * The index of the first MetaGraphDef of {@code savedModel} tagged {@code tag}.
   *
   * @param directory the SavedModel directory, for the message
   * @param savedModel its parsed {@code saved_model.pb}
   * @param tag the wanted tag, e.g. {@code serve}
   * @return the index in {@code savedModel}'s MetaGraphDefs
   * @throws SavedModelException listing the tag sets there are, if none has {@code tag}
   */
  public static int metaGraphIndex(Path directory, SavedModel savedModel, String tag) {
    for (int i = 0; i < savedModel.getMetaGraphsCount(); i++) {
      if (savedModel.getMetaGraphs(i).getMetaInfoDef().getTagsList().contains(tag)) {
        return i;
      }
    }
    throw new SavedModelException(
        directory
            + " has no MetaGraphDef tagged \""
            + tag
            + "\"; its tag sets are "
            + tagSets(savedModel));
  }

  /**
   * The tag set of each MetaGraphDef, in file order, e.g. {@code [[serve], [train]]}.
   *
   * @param savedModel a parsed {@code saved_model.pb}
   * @return one list of tags per MetaGraphDef
   */
  public static List<List<String>> tagSets(SavedModel savedModel) {
    return savedModel.getMetaGraphsList().stream()
        .map(m -> List.copyOf(m.getMetaInfoDef().getTagsList()))
        .toList();
  }
}
