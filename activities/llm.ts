import type { LlmGateway } from '../lib/llm/gateway';
import { inLlmActivity } from './heartbeat';
import type { ChatMessage, EmbedResult, GenerateOptions, GenerateResult, LlmPurpose } from '../lib/llm/types';

export interface GenerateTextInput {
  tenantId: string;
  purpose: LlmPurpose;
  messages: ChatMessage[];
  model?: string;
  options?: Omit<GenerateOptions, 'onToken' | 'stream'>;
}

export interface EmbedTextsInput {
  tenantId: string;
  texts: string[];
  model?: string;
}

export function createLlmActivities({ llm }: { llm: LlmGateway }) {
  return {
    async generateText(input: GenerateTextInput): Promise<GenerateResult> {
      return inLlmActivity(input.tenantId, (ctx) =>
        llm.generate(ctx, input.messages, { ...input.options, purpose: input.purpose, model: input.model }),
      );
    },
    async embedTexts(input: EmbedTextsInput): Promise<EmbedResult> {
      return inLlmActivity(input.tenantId, (ctx) => llm.embed(ctx, input.texts, { model: input.model }));
    },
  };
}
