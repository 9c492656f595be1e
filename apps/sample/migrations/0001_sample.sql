CREATE TABLE "sample" (
    "id" bigserial NOT NULL,
    "name" text NOT NULL,
    "score" integer NOT NULL,
    "created_at" timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY ("id")
);
CREATE INDEX sample_created_at_id ON "sample" ("created_at" DESC, "id");
CREATE INDEX sample_score_id ON "sample" ("score", "id");
