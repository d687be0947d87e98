"""The built-in baseline models, served to litellm as a custom provider.

``baseline/starter`` answers with the starter files unchanged; ``baseline/reference``
with the challenge's reference solution. They need no key and no network, so a fresh
clone can run the whole pipeline; the generate stage passes the files they answer with
in the call's ``metadata`` (``vizhub_starter`` and ``vizhub_reference``). Importing this
module registers the provider with :mod:`vizhub_pipeline.core.llm` (litellm itself is
imported only when a model is called).
"""

from __future__ import annotations

from typing import Any

from vizhub_pipeline.core import llm
from vizhub_pipeline.generate.replies import format_files_reply

BASELINE_PROVIDER = "baseline"
BASELINE_MODELS = ("baseline/starter", "baseline/reference")


def make_handler() -> Any:
    """The litellm ``CustomLLM`` that answers for ``baseline/...`` ids."""
    from litellm import CustomLLM
    from litellm.llms.custom_llm import CustomLLMError
    from litellm.types.utils import Choices, Message, Usage

    class BaselineLLM(CustomLLM):
        def _reply(self, model: str, messages: list, litellm_params: dict | None) -> str:
            metadata = (litellm_params or {}).get("metadata") or {}
            if model == "starter":
                files = metadata.get("vizhub_starter")
            elif model == "reference":
                files = metadata.get("vizhub_reference")
                if files == {}:
                    raise CustomLLMError(
                        status_code=400, message="this challenge has no reference solution (reference/)"
                    )
            else:
                raise CustomLLMError(status_code=404, message=f"unknown baseline {model!r}: use starter or reference")
            if not isinstance(files, dict):
                raise CustomLLMError(status_code=400, message="baseline models need the challenge files in metadata")
            return format_files_reply(files)

        def _respond(self, model, messages, model_response, litellm_params):
            import litellm

            text = self._reply(model, messages, litellm_params)
            tokens_in = litellm.token_counter(model="gpt-4o", messages=messages)
            tokens_out = litellm.token_counter(model="gpt-4o", text=text)
            model_response.choices = [
                Choices(index=0, finish_reason="stop", message=Message(role="assistant", content=text))
            ]
            model_response.usage = Usage(
                prompt_tokens=tokens_in, completion_tokens=tokens_out, total_tokens=tokens_in + tokens_out
            )
            model_response.model = f"baseline/{model}"
            return model_response

        def completion(
            self,
            model,
            messages,
            api_base,
            custom_prompt_dict,
            model_response,
            print_verbose,
            encoding,
            api_key,
            logging_obj,
            optional_params,
            acompletion=None,
            litellm_params=None,
            logger_fn=None,
            headers=None,
            timeout=None,
            client=None,
        ):
            return self._respond(model, messages, model_response, litellm_params)

        async def acompletion(
            self,
            model,
            messages,
            api_base,
            custom_prompt_dict,
            model_response,
            print_verbose,
            encoding,
            api_key,
            logging_obj,
            optional_params,
            acompletion=None,
            litellm_params=None,
            logger_fn=None,
            headers=None,
            timeout=None,
            client=None,
        ):
            return self._respond(model, messages, model_response, litellm_params)

    return BaselineLLM()


llm.register_provider(BASELINE_PROVIDER, BASELINE_MODELS, make_handler)
